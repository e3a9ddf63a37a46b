//! A follower's forwarding of an API call to the leader, as Marathon's LeaderProxyFilter
//! does it: the same method, path, query, headers (less hop-by-hop ones) and body, with
//! `X-Marathon-Via` on the request and on the answer, and `X-Marathon-Leader` naming the
//! leader; `502` when the leader cannot be reached. `/v2/events` is redirected instead (a
//! stream is better read from the leader itself).

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::respond;

pub const LEADER_HEADER: &str = "x-marathon-leader";
pub const VIA_HEADER: &str = "x-marathon-via";
/// Marathon's `--leader_proxy_connection_timeout` and `--leader_proxy_read_timeout`
/// defaults (as `/v2/info` reports them).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub fn client(tls: Option<&corral_client::ClientTls>) -> reqwest::Client {
    corral_client::client_tls::with_tls(corral_client::client_tls::client_builder(), tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Headers a proxy must not pass on (RFC 9110 section 7.6.1), and those the client recomputes.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

fn path_and_query(request: &Request) -> &str {
    request.uri().path_and_query().map_or("/", |p| p.as_str())
}

/// `307 Temporary Redirect` to the same path and query on the leader.
pub fn redirect(scheme: &str, leader: &str, request: &Request) -> Response {
    let location = format!("{scheme}://{leader}{}", path_and_query(request));
    match HeaderValue::from_str(&location) {
        Ok(location) => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => respond::message(StatusCode::BAD_GATEWAY, "the leader's address is not valid"),
    }
}

/// Sends `request` to the leader (`leader`: its base URL, `http://host:port` or `https://`)
/// and answers what it answers.
pub async fn forward(
    http: &reqwest::Client,
    leader: &str,
    via: &str,
    request: Request,
) -> Response {
    let url = format!("{leader}{}", path_and_query(&request));
    let (parts, body) = request.into_parts();
    // The leader would refuse a bigger body; refused here as it would (413).
    let body = match axum::body::to_bytes(body, corral_http::serve::MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return respond::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over {} bytes",
                    corral_http::serve::MAX_BODY_BYTES
                ),
            );
        }
    };
    let mut outgoing = http.request(parts.method, &url).body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        outgoing = outgoing.header(name, value);
    }
    outgoing = outgoing.header(VIA_HEADER, format!("1.1 {via}"));
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, %leader, "services: cannot proxy to the leader");
            return respond::message(
                StatusCode::BAD_GATEWAY,
                "Failed to successfully establish a connection to the leader.",
            );
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers().iter().filter(|(n, _)| !hop_by_hop(n)) {
        response = response.header(name, value);
    }
    response = response.header(VIA_HEADER, format!("1.1 {via}"));
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|error| respond::message(StatusCode::BAD_GATEWAY, error.to_string()))
}
