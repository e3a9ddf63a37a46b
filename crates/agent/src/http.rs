//! The agent's HTTP API: `/health`, `/version`, `/state` (Mesos' shape at `/state.json` and
//! `/slave(1)/state`: `v0_state.rs`), `/files/*`, `/monitor/statistics`,
//! and the v1 agent API at `POST /api/v1` for GET_HEALTH, GET_VERSION, GET_TASKS,
//! GET_CONTAINERS, LIST_FILES and READ_FILE.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use serde::Serialize;

use super::shared::AgentShared;
use corral_api::operator::{
    GetHealth, GetTasks, GetVersion, OperatorCall, OperatorCallType, OperatorResponse, VersionInfo,
};
use corral_api::v1::{AgentId, Attribute, Resource, Task};
use corral_http::error::{ApiError, parse_json};

pub fn router(shared: Arc<AgentShared>) -> Router {
    Router::new()
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/version", get(version))
        .route("/state", get(state))
        .route("/api/v1", post(api_v1))
        .route(
            "/api/v1/executor",
            post(super::http_executors::api::executor_api),
        )
        .route(
            "/monitor/statistics",
            get(super::containers_api::monitor_statistics),
        )
        .merge(super::files_api::routes())
        .merge(super::v0_state::routes())
        .with_state(shared)
}

async fn version() -> Json<VersionInfo> {
    Json(VersionInfo {
        version: corral_api::VERSION.to_string(),
    })
}

/// The agent's own view, for operators and tests.
#[derive(Debug, Serialize)]
pub struct AgentState {
    pub id: Option<AgentId>,
    pub hostname: String,
    pub port: Option<u32>,
    pub version: String,
    pub master: String,
    pub registered: bool,
    pub resources: Vec<Resource>,
    pub attributes: Vec<Attribute>,
    pub tasks: Vec<TaskView>,
    pub pending_status_updates: usize,
    /// Where task sandboxes live, for `/files` (ended tasks' too).
    pub sandbox_root: String,
}

/// A task as Mesos describes it, plus where it runs on this agent.
#[derive(Debug, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    pub container_id: String,
    pub sandbox: String,
}

async fn state(State(shared): State<Arc<AgentShared>>) -> Json<AgentState> {
    let places = shared.task_places();
    let tasks = shared
        .tasks_snapshot()
        .into_iter()
        .map(|task| {
            let place = places
                .iter()
                .find(|(fw, t, _, _)| fw == &task.framework_id && t == &task.task_id);
            TaskView {
                container_id: place.map(|p| p.2.clone()).unwrap_or_default(),
                sandbox: place.map(|p| p.3.display().to_string()).unwrap_or_default(),
                task,
            }
        })
        .collect();
    Json(AgentState {
        id: shared.agent_id(),
        hostname: shared.info.hostname.clone(),
        port: shared.info.port,
        version: corral_api::VERSION.to_string(),
        master: shared.master_now(),
        registered: shared.registered.load(Ordering::SeqCst),
        resources: shared.info.resources.clone(),
        attributes: shared.info.attributes.clone(),
        tasks,
        pending_status_updates: shared.updates.pending_count(),
        sandbox_root: super::files_api::sandbox_root(&shared)
            .display()
            .to_string(),
    })
}

async fn api_v1(
    State(shared): State<Arc<AgentShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::response::Response, ApiError> {
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or_default();
        if !kind.starts_with("application/json") {
            return Err(ApiError::unsupported_media(format!(
                "Expecting 'Content-Type' of application/json, got '{kind}'"
            )));
        }
    }
    if let Some(answer) = super::operator_extras::answer(&shared, &body).await {
        return answer;
    }
    let call: OperatorCall = parse_json(&body)?;
    let mut response = OperatorResponse::empty(call.kind);
    match call.kind {
        OperatorCallType::GetHealth => response.get_health = Some(GetHealth { healthy: true }),
        OperatorCallType::GetVersion => {
            response.get_version = Some(GetVersion {
                version_info: VersionInfo {
                    version: corral_api::VERSION.to_string(),
                },
            })
        }
        OperatorCallType::GetTasks => {
            let (completed, live): (Vec<Task>, Vec<Task>) = shared
                .tasks_snapshot()
                .into_iter()
                .partition(|t| t.state.is_terminal());
            response.get_tasks = Some(GetTasks {
                tasks: live,
                completed_tasks: completed,
                ..Default::default()
            });
        }
        other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| format!("{other:?}"));
            return Err(ApiError::bad_request(format!(
                "{name} is not supported by the agent (it answers GET_HEALTH, GET_VERSION, GET_TASKS, GET_CONTAINERS, LIST_FILES, READ_FILE)"
            )));
        }
    }
    Ok(axum::response::IntoResponse::into_response(Json(response)))
}
