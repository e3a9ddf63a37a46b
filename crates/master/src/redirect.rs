//! `307 Temporary Redirect` to a master, as Mesos answers for the leader.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A redirect to `{scheme}://{leader}{path}`: "https" when the masters serve TLS.
pub fn temporary_redirect(scheme: &str, leader: &str, path: &str) -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, format!("{scheme}://{leader}{path}"))],
    )
        .into_response()
}

/// "https" for a master serving TLS, else "http".
pub fn scheme(tls: Option<&corral_http::ServerTls>) -> &'static str {
    if tls.is_some() { "https" } else { "http" }
}
