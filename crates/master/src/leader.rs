//! An elected master (registry in etcd): it serves HTTP at once as a follower, campaigns,
//! and runs a core only while it leads. Followers answer the scheduler, operator and agent
//! APIs with `307 Temporary Redirect` to the leader (as Mesos does), or 503 while nobody
//! leads; `/health`, `/master/redirect` and `/metrics/snapshot` (`master/elected`) answer
//! on every master. While an election is under way a follower holds requests; one that is
//! elected meanwhile serves them itself. Nor does it redirect to a leader whose port refuses
//! connections (probed then, at most every 20 ms for all requests): every agent of a killed
//! leader arrives in the moments before the poll below notices, and would bounce off the
//! dead port into its backoff.
//!
//! A term ends when the lease cannot be kept alive within its TTL or a registry write is
//! fenced off (another master leads): the core stops at once (no allocation, every framework
//! and agent stream closed, so they go find the new leader) and the master campaigns again.
//!
//! A leader killed with SIGKILL cannot resign: followers end its term early when its port
//! refuses connections (`corral_state::leader_liveness`), so the next candidate leads at once.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;
use tower::ServiceExt;

use corral_plugin_host::allocator::AllocatorFactory;
use corral_state::leader_liveness::{LeaderLiveness, Probe, probe};
use corral_state::{Election, EtcdStore};

use super::agent_pings::PartitionConfig;
use super::config::{MasterConfig, MasterError};
use super::handle::MasterHandle;
use super::redirect::temporary_redirect;
use super::router;
use super::shell::{Shared, now_ms};
use super::start::start_core;

/// How often a follower asks etcd who leads (for its redirects).
const LEADER_POLL: Duration = Duration::from_millis(100);
/// How long a redirect trusts the last probe of the leader's port.
const REDIRECT_PROBE_REUSE: Duration = Duration::from_millis(20);
/// How long a follower holds a request while nobody leads, waiting for an election.
const ELECTION_WAIT: Duration = Duration::from_secs(5);
/// Pause after a failed campaign (etcd unreachable) before the next.
const RETRY: Duration = Duration::from_secs(1);

/// The elected master's shared view: whether it leads (and its core), and who leads.
pub struct Leadership {
    /// This master's `host:port`, the value it campaigns with.
    advertised: String,
    /// "https" when the masters serve TLS, for redirects.
    scheme: &'static str,
    leading: RwLock<Option<Leading>>,
    /// The last leader etcd named (`host:port`), for redirects.
    leader: watch::Sender<Option<String>>,
    /// The last probe of the leader made for a redirect: (leader, when, refused). A lock so
    /// that a burst of requests shares one probe.
    redirect_probe: tokio::sync::Mutex<Option<(String, Instant, bool)>>,
    /// Wakes the leader poll early (a redirect found the leader's port refusing).
    poll_now: tokio::sync::Notify,
    stop: watch::Sender<bool>,
    /// When this master started serving (`/master/state` `start_time`).
    started_ms: u64,
}

struct Leading {
    shared: Arc<Shared>,
    router: Router,
}

impl Leadership {
    /// Stops campaigning and any core it runs; the term is resigned so another master
    /// leads without waiting for the lease to expire.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub fn is_leading(&self) -> bool {
        read(&self.leading).is_some()
    }

    /// The leader's `host:port` when another master leads.
    fn other_leader(&self) -> Option<String> {
        self.leader
            .borrow()
            .clone()
            .filter(|leader| *leader != self.advertised)
    }

    /// Whether `leader`'s port refuses connections, probed at most every
    /// [`REDIRECT_PROBE_REUSE`]: the poll would notice only up to [`LEADER_POLL`] later, and
    /// every agent of a killed leader arrives here in that time.
    async fn refuses(&self, leader: &str) -> bool {
        let mut last = self.redirect_probe.lock().await;
        if let Some((probed, at, refused)) = last.as_ref()
            && probed == leader
            && at.elapsed() < REDIRECT_PROBE_REUSE
        {
            return *refused;
        }
        let refused = matches!(probe(leader).await, Probe::Refused);
        *last = Some((leader.to_string(), Instant::now(), refused));
        refused
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts an elected master: HTTP at once, then campaigns in the background.
pub async fn run(
    config: MasterConfig,
    partitions: PartitionConfig,
    allocator: AllocatorFactory,
    store: EtcdStore,
    election: Election,
    engine: corral_plugin_host::PluginEngine,
) -> Result<MasterHandle, MasterError> {
    let (listener, addr) = corral_http::listen::bind(config.listen).await?;
    let leadership = Arc::new(Leadership {
        advertised: format!("{}:{}", config.hostname, addr.port()),
        scheme: crate::redirect::scheme(config.tls.as_ref()),
        leading: RwLock::new(None),
        leader: watch::channel(None).0,
        redirect_probe: tokio::sync::Mutex::new(None),
        poll_now: tokio::sync::Notify::new(),
        stop: watch::channel(false).0,
        started_ms: now_ms(),
    });
    let election = Arc::new(election);
    // On the election's thread: a follower swamped by a re-registration storm (agents held
    // until the election ends) must still notice a dead leader at once.
    election
        .runtime()
        .spawn(follow_leader(leadership.clone(), election.clone()));
    let auth = config.auth.for_server(crate::auth_realms::classify);
    let tls = config.tls.clone();
    let campaign = tokio::spawn(campaign_loop(Campaign {
        leadership: leadership.clone(),
        election,
        store,
        config,
        partitions,
        allocator,
        addr,
        engine,
    }));

    let app = Router::new()
        .route("/master/redirect", get(redirect))
        .route("/metrics/snapshot", get(metrics_snapshot))
        .fallback(dispatch)
        .with_state(leadership.clone());
    let mut stop = leadership.stop.subscribe();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        corral_http::serve(listener, tls.as_ref(), app, auth, stopped, "master").await;
        // The campaign resigns its term on the way out.
        let _ = campaign.await;
    });
    tracing::info!(%addr, "master listening; campaigning for leadership");
    let stopper = leadership.clone();
    Ok(MasterHandle::new(
        addr,
        Box::new(move || stopper.stop()),
        server,
    ))
}

/// What a campaigning master needs to lead when it wins.
struct Campaign {
    leadership: Arc<Leadership>,
    election: Arc<Election>,
    store: EtcdStore,
    config: MasterConfig,
    partitions: PartitionConfig,
    allocator: AllocatorFactory,
    addr: SocketAddr,
    engine: corral_plugin_host::PluginEngine,
}

/// Campaign, lead until the term ends, step down, campaign again.
async fn campaign_loop(campaign: Campaign) {
    let Campaign {
        leadership,
        election,
        store,
        config,
        partitions,
        allocator,
        addr,
        engine,
    } = campaign;
    let mut stop = leadership.stop.subscribe();
    let mut failing = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let campaign = tokio::select! {
            campaign = election.campaign(&leadership.advertised) => campaign,
            _ = stop.changed() => return,
        };
        let mut term = match campaign {
            Ok(term) => term,
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "cannot campaign for leadership; retrying");
                    failing = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        failing = false;
        let (deposed_tx, mut deposed) = watch::channel(false);
        let fenced = Arc::new(store.fenced(term.key.clone(), term.revision, deposed_tx));
        let (shared, facts) = match start_core(
            &config,
            partitions,
            allocator.clone(),
            fenced,
            addr,
            engine.clone(),
            leadership.started_ms,
        )
        .await
        {
            Ok(started) => started,
            Err(error) => {
                tracing::error!(%error, "elected, but cannot load the registry; resigning");
                election.resign(term).await;
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        *write(&leadership.leading) = Some(Leading {
            router: router::router(
                shared.clone(),
                Arc::new(facts),
                config.upstreams.clone(),
                config.agent_tls.as_ref(),
                crate::redirect::scheme(config.tls.as_ref()),
            ),
            shared: shared.clone(),
        });
        leadership
            .leader
            .send_replace(Some(leadership.advertised.clone()));
        tracing::info!(
            revision = term.revision,
            "elected: this master leads as {}",
            leadership.advertised
        );
        let why = tokio::select! {
            _ = term.lost() => "the leader lease could not be kept alive",
            _ = deposed.wait_for(|deposed| *deposed) => "a registry write was fenced off: another master leads",
            _ = stop.changed() => "the master is stopping",
        };
        step_down(&leadership);
        election.resign(term).await;
        if *stop.borrow() {
            return;
        }
        tracing::warn!("stopped leading: {why}; following");
    }
}

/// Stops acting as leader at once: no more allocation, every stream closed.
fn step_down(leadership: &Leadership) {
    if let Some(leading) = write(&leadership.leading).take() {
        leading.shared.stop();
    }
    leadership.leader.send_replace(None);
}

/// Keeps `leader` current for redirects, and ends a dead leader's term early (module doc).
async fn follow_leader(leadership: Arc<Leadership>, election: Arc<Election>) {
    let mut stop = leadership.stop.subscribe();
    let mut liveness = LeaderLiveness::default();
    loop {
        if leadership.is_leading() {
            liveness = LeaderLiveness::default();
        } else {
            // A leader whose port refuses connections is not redirected to: requests wait here
            // for the election instead (agents would only bounce off the dead port and back
            // off past the moment the new leader is elected).
            let leader = liveness
                .follow(&election, &leadership.advertised, "master")
                .await;
            leadership.leader.send_if_modified(|known| {
                let changed = *known != leader;
                *known = leader;
                changed
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(LEADER_POLL) => {}
            _ = leadership.poll_now.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Every request: the leader's routes while leading; otherwise a redirect to the leader.
async fn dispatch(State(leadership): State<Arc<Leadership>>, request: Request) -> Response {
    if let Some(router) = leading_router(&leadership) {
        return serve(router, request).await;
    }
    if request.uri().path() == "/health" {
        return StatusCode::OK.into_response();
    }
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let response = redirect_to(&leadership, &path).await;
    // Elected while holding the request (the agents of a dead leader wait here during the
    // election): serve it now rather than send every one of them back to this master.
    match leading_router(&leadership) {
        Some(router) => serve(router, request).await,
        None => response,
    }
}

fn leading_router(leadership: &Leadership) -> Option<Router> {
    read(&leadership.leading)
        .as_ref()
        .map(|leading| leading.router.clone())
}

async fn serve(router: Router, request: Request) -> Response {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `GET /metrics/snapshot`: the leader's metrics; a follower answers for itself, as a Mesos
/// master does, with `master/elected` 0 (monitoring finds the leader that way).
async fn metrics_snapshot(State(leadership): State<Arc<Leadership>>, request: Request) -> Response {
    if let Some(router) = leading_router(&leadership) {
        return serve(router, request).await;
    }
    let uptime = now_ms().saturating_sub(leadership.started_ms) as f64 / 1000.0;
    axum::Json(serde_json::json!({
        "master/elected": 0.0,
        "master/uptime_secs": uptime,
    }))
    .into_response()
}

/// `GET /master/redirect`: 307 to the leading master (this one included).
async fn redirect(State(leadership): State<Arc<Leadership>>) -> Response {
    if leadership.is_leading() {
        return temporary_redirect(leadership.scheme, &leadership.advertised, "");
    }
    redirect_to(&leadership, "").await
}

/// A redirect to the leader. While nobody leads (an election under way) the request waits
/// up to [`ELECTION_WAIT`] for one, so clients reach the new leader as soon as it is elected
/// instead of backing off.
async fn redirect_to(leadership: &Leadership, path: &str) -> Response {
    let mut known = leadership.leader.subscribe();
    let settled =
        |_: &Option<String>| leadership.is_leading() || leadership.other_leader().is_some();
    let wait = async {
        loop {
            if known.wait_for(settled).await.is_err() {
                return;
            }
            let Some(leader) = leadership.other_leader() else {
                return;
            };
            if !leadership.refuses(&leader).await {
                return;
            }
            // A dead leader: no redirect there. Wait for etcd to name another (the poll,
            // woken now, revokes the dead one's lease), then look again.
            leadership.poll_now.notify_one();
            let moved_on = |now: &Option<String>| now.as_deref() != Some(leader.as_str());
            let _ = tokio::time::timeout(LEADER_POLL * 3, known.wait_for(moved_on)).await;
        }
    };
    let _ = tokio::time::timeout(ELECTION_WAIT, wait).await;
    if leadership.is_leading() {
        return temporary_redirect(leadership.scheme, &leadership.advertised, path);
    }
    match leadership.other_leader() {
        Some(leader) => temporary_redirect(leadership.scheme, &leader, path),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no leading master elected yet; retry shortly\n",
        )
            .into_response(),
    }
}
