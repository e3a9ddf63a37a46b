//! `307 Temporary Redirect` to a master, as Mesos answers for the leader.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A redirect to `http://{leader}{path}`.
pub fn temporary_redirect(leader: &str, path: &str) -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, format!("http://{leader}{path}"))],
    )
        .into_response()
}
