//! The one way a Corral server serves HTTP: its router wrapped in the layers every surface
//! shares, on a listener, until a shutdown signal. The master (single or elected), the agent
//! and every component built on them go through here, so a layer added to [`stack`]
//! (authentication, limits, metrics) applies to every route of every server at once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};

use crate::audit::audit;
use crate::auth::{HttpAuth, authenticate};
use crate::connection_limits::{ConnectionCounts, Limited};
use crate::peer::PeerAddr;
use crate::tls::{ServerTls, TlsListener};

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

/// Serves `router` (through [`stack`]) on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes; a server error is logged under `server` ("master", "agent", ...).
/// Its connections count against the process's caps (`connection_limits.rs`), TLS
/// handshakes included.
pub async fn serve<L>(
    listener: L,
    tls: Option<&ServerTls>,
    router: Router,
    auth: HttpAuth,
    shutdown: impl Future<Output = ()> + Send + 'static,
    server: &str,
) where
    L: Listener<Addr = SocketAddr>,
    PeerAddr: for<'a> Connected<IncomingStream<'a, Limited<L>>>
        + for<'a> Connected<IncomingStream<'a, TlsListener<Limited<L>>>>,
{
    let listener = Limited::new(listener, ConnectionCounts::process());
    // With each connection's peer, for the audit log.
    let app = stack(router, auth).into_make_service_with_connect_info::<PeerAddr>();
    let served = match tls {
        Some(tls) => {
            axum::serve(TlsListener::new(listener, tls), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    if let Err(error) = served {
        tracing::error!(%error, "the {server}'s HTTP server stopped");
    }
}
