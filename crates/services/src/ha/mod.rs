//! Several `corral services` instances on one etcd store: they elect a leader with the
//! masters' election code (`corral_state::Election`, on `{prefix}services/leader`). Only the
//! leader holds a world, runs the scheduler driver and the health checks, and writes the
//! store, every write fenced on its election key (a deposed leader cannot write). It loads
//! the world from the store when it wins, so a leader killed with -9 mid-deployment loses
//! nothing: the next one reads the apps, tasks (stored before they are launched) and
//! deployments, reconciles with the master and carries on.
//!
//! A leader killed with -9 cannot resign; followers revoke its lease once its port refuses
//! connections (`corral_state::leader_liveness`, as the masters do).
//!
//! Followers answer every API call by proxying it to the leader, as Marathon's
//! LeaderProxyFilter does (`X-Marathon-Via` added; `/v2/events` is redirected instead); 503
//! while nobody leads. The leader adds `X-Marathon-Leader` to its answers. `/ping` answers on
//! every instance.

pub mod leading;
pub mod proxy;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use corral_state::leader_liveness::LeaderLiveness;
use corral_state::{Election, EtcdStore, StateStore};

use crate::ServicesConfig;
use crate::http::respond;
use leading::Leading;

/// How often a follower asks etcd who leads.
const LEADER_POLL: Duration = Duration::from_millis(200);
/// Pause after a failed campaign or a failed start as leader.
const RETRY: Duration = Duration::from_secs(1);
/// Marathon's answer while no instance leads.
pub const NO_LEADER: &str = "Could not determine the current leader";

/// What this instance is: leading (with its world and router), or following.
pub struct Mode {
    /// This instance's `host:port`, the value it campaigns with.
    pub advertised: String,
    leading: RwLock<Option<Arc<Leading>>>,
    /// The leader's `host:port` when another instance leads.
    leader: RwLock<Option<String>>,
    http: reqwest::Client,
    /// "https" when the instances serve TLS: how the leader is reached and named.
    scheme: &'static str,
}

impl Mode {
    pub fn new(advertised: String) -> Arc<Mode> {
        Mode::served(advertised, false, None)
    }

    /// An instance serving over TLS when `tls`; a follower then forwards to the leader over
    /// https, trusting and presenting `client` (the `--tls-ca` and client certificate).
    pub fn served(
        advertised: String,
        tls: bool,
        client: Option<&corral_client::ClientTls>,
    ) -> Arc<Mode> {
        Arc::new(Mode {
            advertised,
            leading: RwLock::new(None),
            leader: RwLock::new(None),
            http: proxy::client(client),
            scheme: if tls { "https" } else { "http" },
        })
    }

    pub fn leading(&self) -> Option<Arc<Leading>> {
        self.leading.read().ok().and_then(|l| l.clone())
    }

    /// Starts (or, with `None`, ends) leading; a term that ends stops its driver and checks.
    pub fn set_leading(&self, leading: Option<Leading>) {
        let new = leading.map(Arc::new);
        let old = match self.leading.write() {
            Ok(mut slot) => std::mem::replace(&mut *slot, new),
            Err(_) => return,
        };
        if let Some(old) = old {
            old.stop();
        }
    }

    fn leader(&self) -> Option<String> {
        self.leader.read().ok().and_then(|l| l.clone())
    }

    fn set_leader(&self, leader: Option<String>) {
        // A key of this address that this process does not hold is a dead predecessor's.
        let leader = leader.filter(|l| *l != self.advertised);
        if let Ok(mut slot) = self.leader.write() {
            *slot = leader;
        }
    }
}

/// The router every instance serves: the leader's own API, or the proxy to it.
pub fn router(mode: Arc<Mode>) -> Router {
    Router::new().fallback(dispatch).with_state(mode)
}

async fn dispatch(State(mode): State<Arc<Mode>>, request: Request) -> Response {
    if let Some(leading) = mode.leading() {
        let mut response = match leading.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if let Ok(value) = HeaderValue::from_str(&format!("{}://{}", mode.scheme, mode.advertised))
        {
            response.headers_mut().insert(proxy::LEADER_HEADER, value);
        }
        return response;
    }
    if request.uri().path() == "/ping" {
        return ([(header::CONTENT_TYPE, "text/plain")], "pong").into_response();
    }
    match mode.leader() {
        Some(leader) if request.uri().path().starts_with("/v2/events") => {
            proxy::redirect(mode.scheme, &leader, &request)
        }
        Some(leader) => {
            let leader = format!("{}://{leader}", mode.scheme);
            proxy::forward(&mode.http, &leader, &mode.advertised, request).await
        }
        None => respond::message(StatusCode::SERVICE_UNAVAILABLE, NO_LEADER),
    }
}

/// Campaigns for as long as the process runs: leads while the term holds, then follows and
/// campaigns again.
pub async fn campaign(
    mode: Arc<Mode>,
    config: ServicesConfig,
    store: EtcdStore,
    election: Arc<Election>,
) {
    loop {
        let mut term = match election.campaign(&mode.advertised).await {
            Ok(term) => term,
            Err(error) => {
                tracing::warn!(%error, "services: campaign failed; trying again");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let (deposed_tx, mut deposed) = tokio::sync::watch::channel(false);
        let fenced: Arc<dyn StateStore> =
            Arc::new(store.fenced(term.key.clone(), term.revision, deposed_tx));
        match Leading::start(config.clone(), fenced).await {
            Ok(leading) => {
                tracing::info!(address = %mode.advertised, "services: elected leader");
                mode.set_leader(None);
                mode.set_leading(Some(leading));
            }
            Err(error) => {
                tracing::error!(%error, "services: cannot start as leader; resigning");
                election.resign(term).await;
                tokio::time::sleep(RETRY).await;
                continue;
            }
        }
        tokio::select! {
            () = term.lost() => tracing::warn!("services: the leader's lease is gone; following"),
            _ = deposed.wait_for(|d| *d) => {
                tracing::warn!("services: a store write was fenced off (another leads); following");
            }
        }
        mode.set_leading(None);
        election.resign(term).await;
    }
}

/// Keeps a follower's idea of the leader current, and ends a dead leader's term early
/// (`corral_state::leader_liveness`): a leader killed with -9 is replaced within a poll or
/// two instead of a lease TTL. Nobody is named while the leader's port refuses connections.
pub async fn follow(mode: Arc<Mode>, election: Arc<Election>) {
    let mut liveness = LeaderLiveness::default();
    loop {
        if mode.leading().is_some() {
            liveness = LeaderLiveness::default();
        } else {
            let leader = liveness
                .follow(&election, &mode.advertised, "services")
                .await;
            mode.set_leader(leader);
        }
        tokio::time::sleep(LEADER_POLL).await;
    }
}
