//! The agent's HTTP API: `/health`, `/version`, `/state` (Mesos' shape at `/state.json` and
//! `/slave(1)/state`: `v0_state.rs`), `/metrics` (Prometheus), `/files/*`, `/monitor/statistics`,
//! and the v1 agent API at `POST /api/v1` for GET_HEALTH, GET_VERSION, GET_TASKS,
//! GET_CONTAINERS, LIST_FILES and READ_FILE.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Serialize;

use super::containers_api::{self, ContainersState};
use super::files_api::{self, FilesState};
use super::http_executors::api::{ExecutorApiState, executor_api};
use super::identity::AgentIdentity;
use super::master_link::MasterLink;
use super::operator_extras;
use super::status_updates::StatusUpdateManager;
use super::task_store::TaskStore;
use corral_api::operator::{
    GetHealth, GetTasks, GetVersion, OperatorCall, OperatorCallType, OperatorResponse, VersionInfo,
};
use corral_api::v1::{AgentId, AgentInfo, Attribute, Resource, Task};
use corral_http::auth::Caller;
use corral_http::error::{ApiError, parse_json};
use corral_mesos_proto::names::{AGENT_CALL, AGENT_RESPONSE};

/// What `/state` and the basic operator calls show.
#[derive(Clone)]
pub struct AgentView {
    /// hostname, port, resources and attributes; the id comes from `identity`.
    pub info: AgentInfo,
    pub identity: Arc<AgentIdentity>,
    pub link: Arc<MasterLink>,
    pub tasks: Arc<TaskStore>,
    pub updates: Arc<StatusUpdateManager>,
    /// Where task sandboxes live, for `/files`.
    pub sandbox_root: PathBuf,
    /// The agent's `--work-dir` and listen address, which Mesos' v0 state shows.
    pub work_dir: PathBuf,
    pub listen: std::net::SocketAddr,
}

/// Each endpoint's state; handlers take the part they use.
#[derive(Clone)]
pub struct HttpState {
    pub view: AgentView,
    pub files: FilesState,
    pub containers: ContainersState,
    pub executor_api: ExecutorApiState,
}

impl FromRef<HttpState> for AgentView {
    fn from_ref(state: &HttpState) -> Self {
        state.view.clone()
    }
}

impl FromRef<HttpState> for FilesState {
    fn from_ref(state: &HttpState) -> Self {
        state.files.clone()
    }
}

impl FromRef<HttpState> for ContainersState {
    fn from_ref(state: &HttpState) -> Self {
        state.containers.clone()
    }
}

impl FromRef<HttpState> for ExecutorApiState {
    fn from_ref(state: &HttpState) -> Self {
        state.executor_api.clone()
    }
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/version", get(version))
        .route("/state", get(agent_state))
        .route("/metrics", get(super::prometheus_metrics::get_metrics))
        .route("/api/v1", post(api_v1))
        .route("/api/v1/executor", post(executor_api))
        .route(
            "/monitor/statistics",
            get(containers_api::monitor_statistics),
        )
        .merge(files_api::routes())
        .merge(super::v0_state::routes())
        .with_state(state)
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

async fn agent_state(State(view): State<AgentView>) -> Json<AgentState> {
    let places = view.tasks.task_places();
    let agent_id = view.identity.id();
    let tasks = view
        .tasks
        .tasks(&agent_id.clone().unwrap_or_default())
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
        id: agent_id,
        hostname: view.info.hostname.clone(),
        port: view.info.port,
        version: corral_api::VERSION.to_string(),
        master: view.link.master_now(),
        registered: view.link.is_registered(),
        resources: view.info.resources.clone(),
        attributes: view.info.attributes.clone(),
        tasks,
        pending_status_updates: view.updates.pending_count(),
        sandbox_root: view.sandbox_root.display().to_string(),
    })
}

/// In JSON or protobuf: a protobuf `agent.Call` is read as its JSON, and the JSON answer is
/// written as a protobuf `agent.Response` when `Accept` asks for it (JSON first, as Mesos).
async fn api_v1(
    view: State<AgentView>,
    files: State<FilesState>,
    containers: State<ContainersState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::response::Response, ApiError> {
    corral_mesos_proto::http::refuse_other_media(&headers)?;
    let body = corral_mesos_proto::http::json_body(&headers, body, AGENT_CALL)?;
    let format = corral_mesos_proto::http::response_format(&headers)?;
    let response = api_v1_json(view, files, containers, caller, body).await?;
    Ok(corral_mesos_proto::http::answer_in(response, format, AGENT_RESPONSE).await)
}

async fn api_v1_json(
    State(view): State<AgentView>,
    State(files): State<FilesState>,
    State(containers): State<ContainersState>,
    caller: Caller,
    body: Bytes,
) -> Result<axum::response::Response, ApiError> {
    if let Some(answer) = operator_extras::answer(&files, &containers, caller.name(), &body).await {
        return answer;
    }
    // As Mesos' agent: SET_LOGGING_LEVEL needs `set_log_level`.
    let named = serde_json::from_slice::<OperatorCall>(&body).map(|c| c.kind);
    if let Ok(OperatorCallType::SetLoggingLevel) = named {
        let request = corral_authz::Request {
            subject: caller.name(),
            action: corral_authz::Action::SetLogLevel,
            object: None,
        };
        files
            .authorizer
            .authorize(&request)
            .map_err(|denied| ApiError::forbidden(denied.to_string()))?;
    }
    if let Some(answer) = corral_http::process_calls::answer(&body) {
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
            let agent_id = view.identity.id().unwrap_or_default();
            let (completed, live): (Vec<Task>, Vec<Task>) = view
                .tasks
                .tasks(&agent_id)
                .into_iter()
                .partition(|t| t.state.is_terminal());
            // Mesos' agent lists live tasks as `launched_tasks`; Corral's JSON has always
            // had them under `tasks` too (the master's name), which protobuf cannot carry.
            response.get_tasks = Some(GetTasks {
                launched_tasks: live.clone(),
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
                "{name} is not supported by the agent (it answers GET_HEALTH, GET_VERSION, GET_FLAGS, GET_LOGGING_LEVEL, SET_LOGGING_LEVEL, GET_TASKS, GET_CONTAINERS, LIST_FILES, READ_FILE)"
            )));
        }
    }
    Ok(axum::response::IntoResponse::into_response(Json(response)))
}
