//! The one way a Corral server serves HTTP: its router wrapped in the layers every surface
//! shares, on a listener, until a shutdown signal. The master (single or elected), the agent
//! and every component built on them go through here, so a layer added to [`stack`]
//! (authentication, limits, metrics) applies to every route of every server at once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::Listener;
use tokio_rustls::server::TlsStream;

use crate::audit::audit;
use crate::auth::{HttpAuth, authenticate};
use crate::connection_limits::{ConnectionCounts, Counted, Limited};
use crate::peer::PeerAddr;
use crate::serve_loop::serve_connections;
use crate::server_settings::{self, HttpTimeouts};
use crate::tls::{ServerTls, TlsListener, certificate_principal};

/// The largest request body any route reads unless it sets its own limit (a plugin upload
/// does): axum's default, written here so every server states the same bound.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// `router` with the layers every Corral server shares, outermost first: the audit log (it
/// sees every outcome, refusals included), authentication (no handler sees a request it
/// should not), then the body limit.
pub fn stack(router: Router, auth: HttpAuth) -> Router {
    let classify = Arc::new(auth.classify);
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(auth),
            authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(classify, audit))
}

/// What a server's connections are held to: the process's caps and timeouts, or a test's.
#[derive(Debug, Clone)]
pub struct ConnectionPolicy {
    pub timeouts: HttpTimeouts,
    pub counts: Arc<ConnectionCounts>,
}

impl ConnectionPolicy {
    /// The process's ([`crate::server_settings::configure`]), which every server shares.
    pub fn process() -> ConnectionPolicy {
        ConnectionPolicy {
            timeouts: server_settings::process().timeouts,
            counts: ConnectionCounts::process(),
        }
    }
}

/// Serves `router` (through [`stack`]) on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes, then lets the requests in flight finish; a server error is logged
/// under `server` ("master", "agent", ...). Its connections count against the process's caps
/// (`connection_limits.rs`), TLS handshakes included, and are timed out as its settings say
/// (`serve_loop.rs`).
pub async fn serve<L>(
    listener: L,
    tls: Option<&ServerTls>,
    router: Router,
    auth: HttpAuth,
    shutdown: impl Future<Output = ()> + Send + 'static,
    server: &str,
) where
    L: Listener<Addr = SocketAddr>,
{
    let policy = ConnectionPolicy::process();
    serve_under(policy, listener, tls, router, auth, shutdown, server).await;
}

/// [`serve`] under `policy`.
pub async fn serve_under<L>(
    policy: ConnectionPolicy,
    listener: L,
    tls: Option<&ServerTls>,
    router: Router,
    auth: HttpAuth,
    shutdown: impl Future<Output = ()> + Send + 'static,
    server: &str,
) where
    L: Listener<Addr = SocketAddr>,
{
    let listener = Limited::new(listener, policy.counts);
    let app = stack(router, auth);
    tracing::debug!(
        "the {server}'s HTTP server: header timeout {:?}, idle {:?}, body {:?}",
        policy.timeouts.header,
        policy.timeouts.idle,
        policy.timeouts.body
    );
    match tls {
        Some(tls) => {
            // Over TLS: the peer under the handshake, and its certificate's principal.
            let peer_of = |io: &TlsStream<Counted<L::Io>>, addr: &SocketAddr| {
                let (_, session) = io.get_ref();
                PeerAddr(*addr, certificate_principal(session.peer_certificates()))
            };
            let listener = TlsListener::new(listener, tls);
            serve_connections(listener, peer_of, app, policy.timeouts, shutdown).await;
        }
        None => {
            let peer_of = |_: &Counted<L::Io>, addr: &SocketAddr| PeerAddr(*addr, None);
            serve_connections(listener, peer_of, app, policy.timeouts, shutdown).await;
        }
    }
}
