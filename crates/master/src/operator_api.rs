//! The v1 operator API (`POST /api/v1`, also `/api/v1/operator`; JSON or protobuf), `GET /version`,
//! `GET /health` and `GET /allocator`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use corral_api::VERSION;
use corral_api::operator::{
    GetHealth, GetVersion, OperatorCall, OperatorCallType, OperatorResponse, VersionInfo,
};
use corral_api::operator_roles::OperatorCallPayload;
use corral_authz::Action;
use corral_http::error::{ApiError, parse_json};
use corral_mesos_proto::names::{MASTER_CALL, MASTER_RESPONSE};

use super::core::MasterCore;
use super::mesos_metrics;
use super::operator_stream;
use super::shell::Shared;
use super::view_filter::{FrameworkUsers, ViewMemo, Views};

/// In JSON or protobuf: a protobuf `master.Call` is read as its JSON, and the JSON answer is
/// written as a protobuf `master.Response` when `Accept` asks for it (as Mesos, JSON when
/// both are accepted). SUBSCRIBE negotiates its stream itself.
pub async fn operator(
    state: State<Arc<Shared>>,
    caller: corral_http::auth::Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = corral_mesos_proto::http::json_body(&headers, body, MASTER_CALL)?;
    let subscribe = serde_json::from_slice::<OperatorCall>(&body)
        .is_ok_and(|c| c.kind == OperatorCallType::Subscribe);
    if subscribe {
        return operator_json(state, caller, headers, body).await;
    }
    let format = corral_mesos_proto::http::response_format(&headers)?;
    let response = operator_json(state, caller, headers, body).await?;
    Ok(corral_mesos_proto::http::answer_in(response, format, MASTER_RESPONSE).await)
}

async fn operator_json(
    State(shared): State<Arc<Shared>>,
    caller: corral_http::auth::Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // GET_FLAGS and the logging level: the same for every server of this process. As Mesos,
    // GET_FLAGS is refused (403) to a caller the ACLs do not let `view_flags`, and
    // SET_LOGGING_LEVEL to one they do not let `set_log_level`.
    let named = serde_json::from_slice::<OperatorCall>(&body).map(|c| c.kind);
    match named {
        Ok(OperatorCallType::GetFlags) => {
            shared.authorize(caller.name(), Action::ViewFlags, None)?;
        }
        Ok(OperatorCallType::SetLoggingLevel) => {
            shared.authorize(caller.name(), Action::SetLogLevel, None)?;
        }
        _ => {}
    }
    if let Some(answer) = corral_http::process_calls::answer(&body) {
        return answer;
    }
    let call: OperatorCall = parse_json(&body)?;
    if call.kind == OperatorCallType::GetMetrics {
        return Ok(get_metrics_call(&shared));
    }
    if call.kind == OperatorCallType::Subscribe {
        return operator_stream::subscribe(shared, &headers, caller.name());
    }
    let payload: OperatorCallPayload = parse_json(&body)?;
    let kind = call.kind;
    shared.authorize_operator_call(caller.name(), kind, &payload)?;
    let mut views = ViewMemo::new(caller.name());
    let response = answer(&shared, kind, payload, &mut views.with(shared.authorizer()))?;
    // As Mesos: calls that change something answer 200 with no body.
    if changes_state(kind) {
        return Ok(StatusCode::OK.into_response());
    }
    Ok(Json(response).into_response())
}

/// The call's answer; what the caller may not view is left out of it, outside the core's
/// lock (`view_filter.rs`).
fn answer(
    shared: &Shared,
    kind: OperatorCallType,
    payload: OperatorCallPayload,
    views: &mut Views<'_>,
) -> Result<OperatorResponse, ApiError> {
    // Only when the answer lists tasks or executors, and their views are restricted.
    let needs_users = views.needs_framework_users();
    let users = |core: &MasterCore| {
        if needs_users {
            core.framework_users()
        } else {
            FrameworkUsers::default()
        }
    };
    let mut response = OperatorResponse::empty(kind);
    match kind {
        OperatorCallType::GetWeights => {
            response.get_weights = Some(shared.with_core(|core, _| core.get_weights()));
        }
        OperatorCallType::GetQuota => {
            let mut quota = shared.with_core(|core, _| core.get_quota());
            views.quota(&mut quota);
            response.get_quota = Some(quota);
        }
        OperatorCallType::GetRoles => {
            let mut roles = shared.with_core(|core, _| core.get_roles());
            views.roles(&mut roles);
            response.get_roles = Some(roles);
        }
        OperatorCallType::UpdateWeights => {
            let request = payload
                .update_weights
                .ok_or_else(|| missing("update_weights"))?;
            shared.with_core(|core, _| core.update_weights(request))?;
        }
        OperatorCallType::UpdateQuota => {
            let request = payload
                .update_quota
                .ok_or_else(|| missing("update_quota"))?;
            shared.with_core(|core, _| core.update_quota(request))?;
        }
        OperatorCallType::ReserveResources => {
            let request = payload
                .reserve_resources
                .ok_or_else(|| missing("reserve_resources"))?;
            shared.with_core(|core, _| core.operator_reservation(request, true))?;
        }
        OperatorCallType::UnreserveResources => {
            let request = payload
                .unreserve_resources
                .ok_or_else(|| missing("unreserve_resources"))?;
            shared.with_core(|core, _| core.operator_reservation(request, false))?;
        }
        OperatorCallType::MarkAgentGone => {
            let agent_id = payload
                .mark_agent_gone
                .map(|m| m.agent_id)
                .filter(|id| !id.value.is_empty())
                .ok_or_else(|| missing("mark_agent_gone.agent_id"))?;
            let stream = shared.with_core(|core, now| core.mark_agent_gone(now, &agent_id))?;
            if let Some(stream) = stream {
                shared.close_agent_stream(stream);
            }
        }
        OperatorCallType::GetHealth => response.get_health = Some(GetHealth { healthy: true }),
        OperatorCallType::GetMaster => {
            let master_info = shared.with_core(|core, _| core.master_info.clone());
            response.get_master = Some(corral_api::operator::GetMaster { master_info });
        }
        OperatorCallType::GetVersion => response.get_version = Some(version()),
        OperatorCallType::GetState => {
            let mut state = shared.with_core(|core, _| core.get_state());
            views.state(&mut state);
            response.get_state = Some(state);
        }
        OperatorCallType::GetAgents => {
            let mut agents = shared.with_core(|core, _| core.get_agents());
            views.agents(&mut agents);
            response.get_agents = Some(agents);
        }
        OperatorCallType::GetFrameworks => {
            let mut frameworks = shared.with_core(|core, _| core.get_frameworks());
            views.frameworks(&mut frameworks);
            response.get_frameworks = Some(frameworks);
        }
        OperatorCallType::GetTasks => {
            let (mut tasks, known) = shared.with_core(|core, _| (core.get_tasks(), users(core)));
            views.tasks(&mut tasks, &known);
            response.get_tasks = Some(tasks);
        }
        OperatorCallType::GetExecutors => {
            let (mut executors, known) =
                shared.with_core(|core, _| (core.get_executors(), users(core)));
            views.executors(&mut executors, &known);
            response.get_executors = Some(executors);
        }
        OperatorCallType::Teardown => {
            let id = payload
                .teardown
                .map(|t| t.framework_id)
                .filter(|id| !id.value.is_empty())
                .ok_or_else(|| missing("teardown.framework_id"))?;
            shared.with_core(|core, now| core.operator_teardown(now, &id))?;
        }
        OperatorCallType::KillTask => {
            let kill = payload
                .kill_task
                .filter(|k| !k.task_id.value.is_empty())
                .ok_or_else(|| missing("kill_task.task_id"))?;
            let framework = kill.framework_id.filter(|f| !f.value.is_empty());
            shared.with_core(|core, now| {
                core.operator_kill(now, framework.as_ref(), &kill.task_id)
            })?;
        }
        other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| format!("{other:?}"));
            return Err(ApiError::bad_request(format!(
                "Operator call {name} is not supported yet"
            )));
        }
    }
    Ok(response)
}

fn changes_state(kind: OperatorCallType) -> bool {
    matches!(
        kind,
        OperatorCallType::UpdateWeights
            | OperatorCallType::UpdateQuota
            | OperatorCallType::ReserveResources
            | OperatorCallType::UnreserveResources
            | OperatorCallType::MarkAgentGone
            | OperatorCallType::Teardown
            | OperatorCallType::KillTask
    )
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request(format!("Expecting '{field}' to be present"))
}

fn version() -> GetVersion {
    GetVersion {
        version_info: VersionInfo {
            version: VERSION.to_string(),
        },
    }
}

/// GET_METRICS: Mesos' metric names and values (`mesos_metrics.rs`). Answered at once, so a
/// `get_metrics.timeout` never cuts it short.
fn get_metrics_call(shared: &Shared) -> Response {
    let uptime = corral_http::process_info::uptime_secs();
    let metrics: Vec<serde_json::Value> = shared
        .with_core(|core, _| mesos_metrics::snapshot(core, uptime))
        .into_iter()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect();
    Json(serde_json::json!({"type": "GET_METRICS", "get_metrics": {"metrics": metrics}}))
        .into_response()
}

pub async fn get_version() -> Response {
    Json(serde_json::json!({ "version": VERSION })).into_response()
}

pub async fn get_health() -> Response {
    StatusCode::OK.into_response()
}

/// `GET /allocator`: the allocation policy's own view (JSON), for operators and the web UI.
pub async fn get_allocator(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    // The policy may be mid-cycle (a blocking wasm call): wait off the async threads.
    let view = tokio::task::spawn_blocking(move || shared.allocator_inspect()).await;
    let Ok(Some(json)) = view else {
        return Err(ApiError::unavailable(
            "The allocator has no usable instance right now",
        ));
    };
    let mut response = json.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
