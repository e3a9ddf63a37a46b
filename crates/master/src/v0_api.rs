//! Mesos' v0 HTTP endpoints on the master (apache/mesos `src/master/master.cpp` routes them,
//! `src/master/http.cpp` and `readonly_handler.cpp` answer): `/master/state` (and the
//! `.json` names Mesos 0.25 deprecated, which tools and DC/OS docs still use), `/master/state-summary`, `/master/frameworks`,
//! `/master/slaves`, `/master/tasks`, `/master/roles`, `POST /master/teardown` and
//! `/metrics/snapshot`. The shapes are built in `v0_state.rs`; a `?jsonp=` callback wraps the
//! answer as Mesos' `OK(json, jsonp)` does. What the caller may not view is left out
//! (`v0_view_filter.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::Value;

use corral_api::v1::FrameworkId;
use corral_authz::Action;
use corral_http::auth::Caller;
use corral_http::error::ApiError;

use super::agent_ips::AgentIpCache;
use super::shell::{Shared, now_ms};
use super::v0_state::{AgentIps, MasterFacts, TaskQuery};
use super::v0_view_filter;
use super::view_filter::{FrameworkUsers, TaskVisibility, ViewMemo};

/// What the v0 handlers read: the core, and the facts about this master it does not hold.
#[derive(Clone)]
pub struct V0 {
    pub shared: Arc<Shared>,
    pub facts: Arc<MasterFacts>,
    pub agent_ips: Arc<AgentIpCache>,
}

type Params = Query<HashMap<String, String>>;

pub fn routes(v0: V0) -> Router {
    let mut router = Router::new();
    for (path, handler) in [
        ("/master/state", get(state)),
        ("/master/state-summary", get(state_summary)),
        ("/master/frameworks", get(frameworks)),
        ("/master/slaves", get(slaves)),
        ("/master/tasks", get(tasks)),
        ("/master/roles", get(roles)),
    ] {
        router = router
            .route(&format!("{path}.json"), handler.clone())
            .route(path, handler);
    }
    router
        .route("/master/teardown", post(teardown))
        .route("/metrics/snapshot", get(metrics_snapshot))
        .with_state(v0)
}

/// JSON, or `callback(JSON);` as JavaScript when `jsonp` names a callback.
fn answer(value: &Value, params: &HashMap<String, String>) -> Response {
    let text = value.to_string();
    let (body, media) = match params.get("jsonp") {
        Some(callback) => (format!("{callback}({text});"), "text/javascript"),
        None => (text, "application/json"),
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response
}

/// Each agent hostname's address, from the cache or looked up off the core's lock.
async fn agent_ips(v0: &V0) -> AgentIps {
    let hostnames = v0.shared.with_core(|core, _| core.agent_hostnames());
    v0.agent_ips.resolve(hostnames).await
}

async fn state(State(v0): State<V0>, caller: Caller, Query(params): Params) -> Response {
    let ips = agent_ips(&v0).await;
    let mut value = v0
        .shared
        .with_core(|core, _| core.v0_state(&v0.facts, &ips));
    let mut views = ViewMemo::new(caller.name());
    v0_view_filter::state(&mut views.with(v0.shared.authorizer()), &mut value);
    answer(&value, &params)
}

async fn state_summary(State(v0): State<V0>, caller: Caller, Query(params): Params) -> Response {
    let ips = agent_ips(&v0).await;
    let mut memo = ViewMemo::new(caller.name());
    let mut views = memo.with(v0.shared.authorizer());
    let restricted = views.restricts(&[Action::ViewFrameworks]);
    let (mut value, users) = v0.shared.with_core(|core, _| {
        let users = if restricted {
            core.framework_users()
        } else {
            FrameworkUsers::default()
        };
        (core.v0_state_summary(&ips), users)
    });
    v0_view_filter::summary(&mut views, &mut value, &users);
    answer(&value, &params)
}

async fn frameworks(State(v0): State<V0>, caller: Caller, Query(params): Params) -> Response {
    let id = params.get("framework_id").map(String::as_str);
    let mut value = v0.shared.with_core(|core, _| core.v0_frameworks(id));
    let mut views = ViewMemo::new(caller.name());
    v0_view_filter::frameworks(&mut views.with(v0.shared.authorizer()), &mut value);
    answer(&value, &params)
}

async fn slaves(State(v0): State<V0>, caller: Caller, Query(params): Params) -> Response {
    let id = params.get("slave_id").map(String::as_str);
    let ips = agent_ips(&v0).await;
    let mut value = v0.shared.with_core(|core, _| core.v0_slaves(id, &ips));
    let mut views = ViewMemo::new(caller.name());
    v0_view_filter::agents(&mut views.with(v0.shared.authorizer()), &mut value);
    answer(&value, &params)
}

async fn tasks(
    State(v0): State<V0>,
    caller: Caller,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let number = |name: &str| -> Result<Option<usize>, ApiError> {
        params
            .get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "'{name}' must be a non-negative integer, got '{v}'"
                    ))
                })
            })
            .transpose()
    };
    let query = TaskQuery {
        framework_id: params.get("framework_id").cloned(),
        task_id: params.get("task_id").cloned(),
        limit: number("limit")?,
        offset: number("offset")?,
        ascending: params.get("order").is_some_and(|o| o == "asc"),
    };
    // The page is cut after filtering, under the lock: the users the tasks name are decided
    // first, outside it.
    let mut memo = ViewMemo::new(caller.name());
    let mut views = memo.with(v0.shared.authorizer());
    let visible = if views.restricts(&[Action::ViewFrameworks, Action::ViewTasks]) {
        let (framework_users, task_users) = v0
            .shared
            .with_core(|core, _| (core.framework_users(), core.task_users()));
        views.task_visibility(framework_users.values(), &task_users)
    } else {
        TaskVisibility::all()
    };
    let value = v0
        .shared
        .with_core(|core, _| core.v0_tasks(&query, &visible));
    Ok(answer(&value, &params))
}

async fn roles(State(v0): State<V0>, caller: Caller, Query(params): Params) -> Response {
    let mut value = v0.shared.with_core(|core, _| core.v0_roles());
    let mut views = ViewMemo::new(caller.name());
    v0_view_filter::roles(&mut views.with(v0.shared.authorizer()), &mut value);
    answer(&value, &params)
}

/// `POST /master/teardown` with the form body `frameworkId=<id>`: 200 and the framework is
/// removed (its tasks killed), or 400 as Mesos answers.
async fn teardown(State(v0): State<V0>, caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    let form: HashMap<String, String> = url_form(&body)
        .map_err(|e| ApiError::bad_request(format!("Unable to decode query string: {e}")))?;
    let Some(value) = form.get("frameworkId") else {
        return Err(ApiError::bad_request(
            "Missing 'frameworkId' query parameter in the request body",
        ));
    };
    let id = FrameworkId::new(value.clone());
    v0.shared.authorize_teardown(caller.name(), &id)?;
    // The same teardown as the operator API's TEARDOWN, with Mesos' 400 for an unknown id.
    v0.shared
        .with_core(|core, now| core.operator_teardown(now, &id))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(StatusCode::OK.into_response())
}

/// An `application/x-www-form-urlencoded` body as name -> value.
fn url_form(body: &[u8]) -> Result<HashMap<String, String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(name)?, percent_decode(value)?);
    }
    Ok(out)
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("malformed percent-encoding in '{text}'"))?;
                out.push(hex);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// `GET /metrics/snapshot`: `{"master/elected": 1.0, ...}`.
/// Mesos' `/metrics/snapshot`, an authorizable endpoint (`get_endpoints`).
async fn metrics_snapshot(State(v0): State<V0>, caller: Caller, Query(params): Params) -> Response {
    let path = "/metrics/snapshot";
    if let Err(refused) = v0
        .shared
        .authorize(caller.name(), Action::GetEndpoints, Some(path))
    {
        return refused.into_response();
    }
    let metrics = v0
        .shared
        .with_core(|core, _| core.v0_metrics(&v0.facts, now_ms()));
    answer(&serde_json::json!(metrics), &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_as_curl_sends_them() {
        let form = url_form(b"frameworkId=abc-0001%2Bx&other=a+b").expect("decodes");
        assert_eq!(form["frameworkId"], "abc-0001+x");
        assert_eq!(form["other"], "a b");
        assert!(url_form(b"frameworkId=%zz").is_err());
    }
}
