//! The agent's state in Mesos' v0 shape (apache/mesos `src/slave/http.cpp`: `state`,
//! `FrameworkWriter`, `ExecutorWriter`), at `/state.json`, `/slave(1)/state` and
//! `/slave(1)/state.json`, where tools and DC/OS' UI read it (through the master's
//! `/agent/{id}/...`). Each task runs under its own command executor, as Mesos' command
//! executor does: the executor's id is the task's, its `directory` the task's sandbox (open it
//! with `/files/browse?path=...`). `/state` keeps Corral's own shape, which the CLI reads.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use corral_api::resources::reservation_role;
use corral_api::v0;
use corral_api::v1::{FrameworkInfo, Resource, Task};

use super::http::AgentView;

/// The routes; made when the agent starts, which is its `start_time`.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AgentView: axum::extract::FromRef<S>,
{
    let started = super::task_status::now_secs();
    let handler = get(move |view: State<AgentView>| state(view, started));
    Router::new()
        .route("/state.json", handler.clone())
        .route("/slave(1)/state", handler.clone())
        .route("/slave(1)/state.json", handler)
}

/// What the state lists of one task: the task and where it runs.
struct Placed {
    task: Task,
    container: String,
    directory: String,
}

async fn state(State(view): State<AgentView>, started: f64) -> Response {
    let places = view.tasks.task_places();
    let id = view.identity.id_value();
    let (tasks, frameworks) = view
        .tasks
        .subscription(&view.identity.id().unwrap_or_default());
    let placed: Vec<Placed> = tasks
        .into_iter()
        .map(|task| {
            let place = places
                .iter()
                .find(|(fw, t, _, _)| *fw == task.framework_id && *t == task.task_id);
            Placed {
                container: place.map(|p| p.2.clone()).unwrap_or_default(),
                directory: place.map(|p| p.3.display().to_string()).unwrap_or_default(),
                task,
            }
        })
        .collect();
    let info = &view.info;
    let total = &info.resources;
    let (reserved, unreserved) = split_reserved(total);
    let allocated: Vec<Resource> = placed
        .iter()
        .filter(|p| !p.task.state.is_terminal())
        .flat_map(|p| p.task.resources.iter().cloned())
        .collect();
    let (reserved_allocated, unreserved_allocated) = split_reserved(&allocated);
    let frameworks: Vec<Value> = frameworks
        .iter()
        .map(|framework| framework_json(framework, &placed))
        .collect();
    let value = json!({
        "version": corral_api::VERSION,
        // Mesos' build facts; Corral's build records none of them.
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": started,
        "id": id,
        "pid": v0::agent_pid(&pid_host(&view), info.port),
        "hostname": info.hostname,
        "capabilities": [],
        "resources": v0::resources(total),
        "reserved_resources": by_role(&reserved),
        "unreserved_resources": v0::resources(&unreserved),
        "reserved_resources_full": reserved,
        "unreserved_resources_full": unreserved,
        "reserved_resources_allocated": by_role(&reserved_allocated),
        "unreserved_resources_allocated": v0::resources(&unreserved_allocated),
        "resource_providers": [],
        "attributes": v0::attributes(&info.attributes),
        "master_hostname": view.link.master_now().rsplit_once(':').map_or("", |(h, _)| h),
        "flags": {
            "hostname": info.hostname,
            "port": info.port.unwrap_or(5051).to_string(),
            "work_dir": view.work_dir.display().to_string(),
        },
        "frameworks": frameworks,
        "completed_frameworks": [],
    });
    axum::Json(value).into_response()
}

/// The address in the agent's pid: the IP it listens on, or its hostname when it listens on
/// every address.
fn pid_host(view: &AgentView) -> String {
    let ip = view.listen.ip();
    if ip.is_unspecified() {
        view.info.hostname.clone()
    } else {
        ip.to_string()
    }
}

/// Reserved resources by role, and the unreserved ones.
fn split_reserved(list: &[Resource]) -> (BTreeMap<String, Vec<Resource>>, Vec<Resource>) {
    let mut reserved: BTreeMap<String, Vec<Resource>> = BTreeMap::new();
    let mut unreserved = Vec::new();
    for resource in list {
        match reservation_role(resource) {
            Some(role) => reserved
                .entry(role.to_string())
                .or_default()
                .push(resource.clone()),
            None => unreserved.push(resource.clone()),
        }
    }
    (reserved, unreserved)
}

fn by_role(reserved: &BTreeMap<String, Vec<Resource>>) -> Value {
    Value::Object(
        reserved
            .iter()
            .map(|(role, list)| (role.clone(), v0::resources(list)))
            .collect::<Map<String, Value>>(),
    )
}

/// `FrameworkWriter`, with one command executor per task (`ExecutorWriter`).
fn framework_json(framework: &FrameworkInfo, placed: &[Placed]) -> Value {
    let id = framework
        .id
        .as_ref()
        .map(|id| id.value.clone())
        .unwrap_or_default();
    let executors: Vec<Value> = placed
        .iter()
        .filter(|p| p.task.framework_id.value == id)
        .map(executor_json)
        .collect();
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(framework.name));
    out.insert("user".into(), json!(framework.user));
    out.insert(
        "failover_timeout".into(),
        json!(framework.failover_timeout.unwrap_or(0.0)),
    );
    out.insert(
        "checkpoint".into(),
        json!(framework.checkpoint.unwrap_or(false)),
    );
    out.insert(
        "hostname".into(),
        json!(framework.hostname.clone().unwrap_or_default()),
    );
    if let Some(principal) = &framework.principal {
        out.insert("principal".into(), json!(principal));
    }
    if framework.has_capability("MULTI_ROLE") {
        out.insert("roles".into(), json!(framework.roles));
    } else {
        out.insert(
            "role".into(),
            json!(framework.role.clone().unwrap_or_else(|| "*".into())),
        );
    }
    out.insert("executors".into(), Value::Array(executors));
    out.insert("completed_executors".into(), json!([]));
    Value::Object(out)
}

fn executor_json(placed: &Placed) -> Value {
    let task = &placed.task;
    let executor_id = task
        .executor_id
        .as_ref()
        .map_or(task.task_id.value.clone(), |e| e.value.clone());
    let role = task
        .resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.clone())
        .unwrap_or_else(|| "*".into());
    let modeled = v0::task(task, &role);
    let (tasks, completed) = if task.state.is_terminal() {
        (vec![], vec![modeled])
    } else {
        (vec![modeled], vec![])
    };
    json!({
        "id": executor_id,
        "name": format!("Command Executor (Task: {})", task.task_id.value),
        "source": task.task_id.value,
        "container": placed.container,
        "directory": placed.directory,
        "resources": v0::resources(&task.resources),
        "role": role,
        "tasks": tasks,
        "queued_tasks": [],
        "completed_tasks": completed,
    })
}
