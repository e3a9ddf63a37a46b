//! The audit log: every call that can change state (the read-write realm: operator calls,
//! plugin and app changes) and every refused call (401, 403) of any realm, as one structured
//! line under the `corral::audit` target: who (the authenticated principal, or anonymous),
//! what (method and path), from where, when (the log line's time), the outcome (status), how
//! long it took, and why credentials were refused. Bodies are never logged, so no secret
//! reaches the log. Frameworks' scheduler calls and agents' updates are not audited
//! (thousands a second; their effects are in the master's own log).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::layer::Refusal;
use crate::auth::{Classify, Principal, Realm};
use crate::peer::PeerAddr;

pub(crate) async fn audit(
    State(classify): State<Arc<Classify>>,
    mut request: Request,
    next: Next,
) -> Response {
    let realm = classify(request.method(), request.uri().path());
    // Sorted once: the authentication layer inside reads it.
    request.extensions_mut().insert(realm);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let peer = request
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .map(|ConnectInfo(PeerAddr(addr, _))| addr.to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
    if realm == Realm::ReadWrite && !method.is_safe() || refused {
        let principal = response
            .extensions()
            .get::<Principal>()
            .map(|Principal(name)| name.as_str())
            .unwrap_or("<anonymous>");
        let reason = response.extensions().get::<Refusal>().map_or("", |r| r.0);
        tracing::info!(
            target: "corral::audit",
            principal,
            %method,
            path,
            peer = peer.as_deref().unwrap_or(""),
            status = status.as_u16(),
            ms = started.elapsed().as_millis() as u64,
            reason,
            "audit"
        );
    }
    response
}
