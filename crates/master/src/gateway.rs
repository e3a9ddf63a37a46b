//! The cluster URL's proxies, as DC/OS' Admin Router lays them out on the leading master
//! (dcos/dcos `packages/adminrouter/extra/src/includes/server/master.conf`):
//! `/service/{name}/...` to the framework registered under that name with a `webui_url`
//! (the services component registers as `marathon`), `/agent/{id}/...` and
//! `/slave/{id}/...` to that agent's HTTP address (https for an agent that serves TLS:
//! `agent_clients.rs`; the master's certificate goes with a caller's own credentials only),
//! `/mesos_dns/...` to the DNS component's
//! HTTP API at the address the master was given (`upstreams.rs`). The request's path below
//! the prefix and its query go upstream byte for byte; bodies stream both ways (SSE,
//! RecordIO), nothing is buffered. A target that does not answer is 502 with a JSON
//! message; an unknown service or agent, or a DNS component the master was not told of, is
//! 404; an agent recovered from the registry that has not re-registered (its scheme not yet
//! known) is 503.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use corral_api::agent_protocol::AgentScheme;
use corral_api::v1::AgentId;
use corral_http::error::ApiError;

use corral_client::ClientTls;

use super::agent_clients::{AgentClients, Presenting};
use super::shell::Shared;
use super::upstreams::Upstreams;

/// How long connecting to a target may take before the answer is 502.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Gateway {
    shared: Arc<Shared>,
    upstreams: Upstreams,
    client: reqwest::Client,
    /// For agents: http, or https trusting the agent CA (`agent_clients.rs`); `None` if
    /// they could not be built (logged at start).
    agents: Option<Arc<AgentClients>>,
}

/// `agent_tls`: what the master trusts and presents to agents serving https.
pub fn routes(shared: Arc<Shared>, upstreams: Upstreams, agent_tls: Option<&ClientTls>) -> Router {
    let configure = |builder: reqwest::ClientBuilder| {
        builder
            .connect_timeout(CONNECT_TIMEOUT)
            // A redirect (a follower naming its leader) goes back to the client as it came.
            .redirect(reqwest::redirect::Policy::none())
    };
    let client = configure(corral_client::client_tls::client_builder())
        .build()
        .unwrap_or_default();
    let agents = match AgentClients::new(agent_tls, configure) {
        Ok(agents) => Some(Arc::new(agents)),
        Err(error) => {
            tracing::error!(%error, "cannot build the gateway's clients for agents");
            None
        }
    };
    Router::new()
        .route("/service/{*rest}", any(service))
        .route("/agent/{*rest}", any(agent))
        .route("/slave/{*rest}", any(agent))
        .route("/mesos_dns", any(mesos_dns))
        .route("/mesos_dns/", any(mesos_dns))
        .route("/mesos_dns/{*rest}", any(mesos_dns))
        .with_state(Gateway {
            shared,
            upstreams,
            client,
            agents,
        })
}

/// `(name, rest)` of `/<prefix>/<name><rest>` in the raw request target: `rest` keeps its
/// leading `/` and query exactly as sent ("" when the path ends at the name).
fn split_target<'a>(target: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let after = target.strip_prefix(prefix)?.strip_prefix('/')?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (name, rest) = after.split_at(end);
    (!name.is_empty()).then_some((name, rest))
}

fn target(request: &Request) -> String {
    request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string())
}

/// `rest` as the upstream's request target: `/` when empty, a path when it starts with `?`.
fn upstream_path(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('?') {
        format!("/{rest}")
    } else {
        rest.to_string()
    }
}

async fn service(State(gateway): State<Gateway>, request: Request) -> Response {
    let target = target(&request);
    let Some((name, rest)) = split_target(&target, "/service") else {
        return ApiError::not_found("No service named in the path").into_response();
    };
    if rest.is_empty() || rest.starts_with('?') {
        return with_slash(&format!("/service/{name}"), rest);
    }
    let found = gateway.shared.with_core(|core, _| core.service_url(name));
    let Some(base) = found else {
        return ApiError::not_found(format!(
            "No service named '{name}': no framework of that name with a webui_url is registered"
        ))
        .into_response();
    };
    let url = format!("{}{}", base.trim_end_matches('/'), upstream_path(rest));
    // A service serving TLS is called as an https agent is: trusting the agent CA, and
    // presenting the master's certificate only with the caller's own credentials.
    let client = if url.starts_with("https://") {
        match https_client(&gateway, &request) {
            Ok(client) => client,
            Err(reason) => {
                return ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "Service '{name}' serves https, which this master cannot call: {reason}"
                    ),
                )
                .into_response();
            }
        }
    } else {
        &gateway.client
    };
    forward(client, &url, request, &format!("service '{name}'"), "").await
}

/// The client for an https service for `request` (see [`presenting`]).
fn https_client<'g>(
    gateway: &'g Gateway,
    request: &Request,
) -> Result<&'g reqwest::Client, String> {
    let agents = gateway
        .agents
        .as_ref()
        .ok_or("the master has no https client (logged at start)")?;
    agents
        .client(AgentScheme::Https, presenting(request))
        .map_err(str::to_string)
}

/// Whose certificate goes to an https upstream: the master's only with a caller's own
/// credentials, which the upstream then checks; a request without any is not lent the
/// master's identity.
fn presenting(request: &Request) -> Presenting {
    if request.headers().contains_key(header::AUTHORIZATION) {
        Presenting::Master
    } else {
        Presenting::Nobody
    }
}

/// As Admin Router (nginx, for a location ending in `/`): `<base>` is redirected to
/// `<base>/`, the query kept.
fn with_slash(base: &str, query: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, format!("{base}/{query}"))],
    )
        .into_response()
}

/// `/mesos_dns/<rest>` to `<url>/<rest>`, as Admin Router's `location /mesos_dns/`.
async fn mesos_dns(State(gateway): State<Gateway>, request: Request) -> Response {
    let target = target(&request);
    let rest = target.strip_prefix("/mesos_dns").unwrap_or_default();
    if rest.is_empty() || rest.starts_with('?') {
        return with_slash("/mesos_dns", rest);
    }
    let Some(base) = gateway.upstreams.mesos_dns() else {
        return ApiError::not_found(
            "This master knows no DNS component: start it with --mesos-dns-url \
             (`corral dev` sets it for its own DNS server)",
        )
        .into_response();
    };
    let url = format!("{}{rest}", base.trim_end_matches('/'));
    forward(&gateway.client, &url, request, "DNS component", "").await
}

async fn agent(State(gateway): State<Gateway>, request: Request) -> Response {
    let target = target(&request);
    let prefix = if target.starts_with("/slave/") {
        "/slave"
    } else {
        "/agent"
    };
    let Some((id, rest)) = split_target(&target, prefix) else {
        return ApiError::not_found("No agent id in the path").into_response();
    };
    let endpoint = gateway.shared.with_core(|core, _| {
        core.agent(&AgentId::new(id)).map(|a| {
            let address = format!("{}:{}", a.info.hostname, a.info.port.unwrap_or(5051));
            (address, a.scheme)
        })
    });
    let Some((address, scheme)) = endpoint else {
        return ApiError::not_found(format!("No agent with id '{id}'")).into_response();
    };
    let Some(scheme) = scheme else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Agent '{id}' has not re-registered with this master since it started, so \
                 whether it serves http or https is not known yet; retry when it has"
            ),
        )
        .into_response();
    };
    let presenting = presenting(&request);
    let has_credentials = presenting == Presenting::Master;
    let Some(agents) = &gateway.agents else {
        return ApiError::new(
            StatusCode::BAD_GATEWAY,
            "The master has no client for agents",
        )
        .into_response();
    };
    let client = match agents.client(scheme, presenting) {
        Ok(client) => client,
        Err(reason) => {
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("The agent {id} serves https, which this master cannot call: {reason}"),
            )
            .into_response();
        }
    };
    let url = scheme.url(&address, &upstream_path(rest));
    let hint = if scheme == AgentScheme::Https && !has_credentials {
        " (the master presents its certificate to agents only with the caller's own \
         credentials, an Authorization header: an agent that requires client certificates \
         refuses a request without them at the handshake)"
    } else {
        ""
    };
    forward(client, &url, request, &format!("agent {id}"), hint).await
}

/// Hop-by-hop headers (RFC 9110 7.6.1), which a proxy does not pass on; `host` is the
/// upstream's own.
fn passes(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
    )
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if passes(name) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// Sends `request` to `url` and streams the answer back; 502 when `what` does not answer.
/// `hint` follows the error in that answer.
async fn forward(
    client: &reqwest::Client,
    url: &str,
    request: Request,
    what: &str,
    hint: &str,
) -> Response {
    let (parts, body) = request.into_parts();
    // A request without a body goes on without one (not as an empty chunked body).
    let has_body = parts.headers.contains_key(header::CONTENT_LENGTH)
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut headers = HeaderMap::new();
    copy_headers(&parts.headers, &mut headers);
    let mut upstream = client.request(parts.method, url).headers(headers);
    if has_body {
        upstream = upstream.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    let upstream = upstream.send().await;
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(error) => {
            tracing::debug!(%error, url, "proxied request failed");
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("The {what} at {url} does not answer: {error}{hint}"),
            )
            .into_response();
        }
    };
    let mut response = Response::builder().status(upstream.status());
    if let Some(out) = response.headers_mut() {
        copy_headers(upstream.headers(), out);
    }
    response
        .body(Body::from_stream(upstream.bytes_stream()))
        .unwrap_or_else(|e| ApiError::internal(e.to_string()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_below_the_prefix_and_the_query_are_kept_exactly() {
        assert_eq!(
            split_target(
                "/service/marathon/v2/apps?embed=apps.tasks&x=%2F",
                "/service"
            ),
            Some(("marathon", "/v2/apps?embed=apps.tasks&x=%2F"))
        );
        assert_eq!(
            split_target("/service/marathon", "/service"),
            Some(("marathon", ""))
        );
        assert_eq!(
            split_target("/agent/a-S0?x=1", "/agent"),
            Some(("a-S0", "?x=1"))
        );
        assert_eq!(split_target("/service/", "/service"), None);
        assert_eq!(upstream_path(""), "/");
        assert_eq!(upstream_path("?x=1"), "/?x=1");
        assert_eq!(upstream_path("/state"), "/state");
    }
}
