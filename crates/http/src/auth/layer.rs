//! The middleware: sorts the request, checks its credentials (HTTP Basic, a bearer token, or
//! else a mutual-TLS client certificate), and either passes it on with its [`Principal`] or
//! answers 401 with the challenges a client can answer.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{HttpAuth, Principal, Realm};
use crate::error::ApiError;
use crate::peer::PeerAddr;

pub(crate) async fn authenticate(
    State(auth): State<Arc<HttpAuth>>,
    mut request: Request,
    next: Next,
) -> Response {
    // The audit layer, outside this one, has sorted the request already.
    let realm = match request.extensions().get::<Realm>() {
        Some(realm) => *realm,
        None => (auth.classify)(request.method(), request.uri().path()),
    };
    if realm == Realm::Public {
        return next.run(request).await;
    }
    let required = auth.config.required.covers(realm);
    match auth.config.identities.identify(request.headers()) {
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal.clone());
            let mut response = next.run(request).await;
            // For the audit log, which wraps this layer.
            response.extensions_mut().insert(principal);
            response
        }
        Ok(None) if let Some(principal) = certificate_principal(&request) => {
            request.extensions_mut().insert(principal.clone());
            let mut response = next.run(request).await;
            response.extensions_mut().insert(principal);
            response
        }
        Ok(None) if !required => next.run(request).await,
        Ok(None) => unauthorized(realm, "this endpoint requires authentication"),
        Err(reason) => unauthorized(realm, reason),
    }
}

/// Without credentials in its headers, a request over mutual TLS is its certificate's
/// principal (the handshake verified it against the client CA).
fn certificate_principal(request: &Request) -> Option<Principal> {
    let ConnectInfo(PeerAddr(_, principal)) =
        request.extensions().get::<ConnectInfo<PeerAddr>>()?;
    principal.as_deref().map(|name| Principal(name.to_string()))
}

/// Why a request was refused, for the audit line (which has no body to read): set by this
/// layer, and by a server's own refusals (a 403 names the action it lacked).
#[derive(Debug, Clone, Copy)]
pub struct Refusal(pub &'static str);

fn unauthorized(realm: Realm, reason: &'static str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, reason).into_response();
    response.extensions_mut().insert(Refusal(reason));
    let challenges = response.headers_mut();
    if realm != Realm::Executor
        && let Ok(basic) = HeaderValue::from_str(&format!("Basic realm=\"{}\"", realm.name()))
    {
        challenges.append(WWW_AUTHENTICATE, basic);
    }
    if let Ok(bearer) = HeaderValue::from_str(&format!("Bearer realm=\"{}\"", realm.name())) {
        challenges.append(WWW_AUTHENTICATE, bearer);
    }
    response
}
