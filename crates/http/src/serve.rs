//! The one way a Corral server serves HTTP: its router wrapped in the layers every surface
//! shares, on a listener, until a shutdown signal. The master (single or elected), the agent
//! and every component built on them go through here, so a layer added to [`stack`]
//! (authentication, limits, metrics) applies to every route of every server at once.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::Listener;

use crate::auth::{HttpAuth, authenticate};
use crate::tls::{ServerTls, TlsListener};

/// The largest request body any route reads unless it sets its own limit (a plugin upload
/// does): axum's default, written here so every server states the same bound.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// `router` with the layers every Corral server shares: authentication (outermost, so no
/// handler sees an unauthenticated request it should not), then the body limit.
pub fn stack(router: Router, auth: HttpAuth) -> Router {
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(auth),
            authenticate,
        ))
}

/// Serves `router` (through [`stack`]) on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes; a server error is logged under `server` ("master", "agent", ...).
pub async fn serve<L>(
    listener: L,
    tls: Option<&ServerTls>,
    router: Router,
    auth: HttpAuth,
    shutdown: impl Future<Output = ()> + Send + 'static,
    server: &str,
) where
    L: Listener,
    L::Addr: Clone + std::fmt::Debug + std::fmt::Display + Sync,
{
    let app = stack(router, auth);
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
