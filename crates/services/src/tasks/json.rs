//! Tasks as Marathon's API shows them (raml `Task`): the keys of `examples/app_tasks.json`
//! plus the ones Marathon's writer always adds (`healthCheckResults`, `ipAddresses`,
//! `servicePorts`, `localVolumes`); `startedAt` only once the task runs. And an app's last
//! task failure (`lastTaskFailure`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::record::TaskRecord;
use crate::time::Timestamp;

/// A task's JSON. `service_ports` are the app's (filled in by `/v2/tasks`, empty elsewhere,
/// as in Marathon).
pub fn task_json(task: &TaskRecord, service_ports: &[u32]) -> Value {
    let mut object = json!({
        "appId": task.app_id,
        "healthCheckResults": [],
        "host": task.host,
        "id": task.id,
        "ipAddresses": task.ip_addresses,
        "ports": task.ports,
        "servicePorts": service_ports,
        "slaveId": task.agent_id,
        "state": task.state.as_str(),
        "stagedAt": task.staged_at,
        "version": task.version,
        "localVolumes": [],
    });
    if let (Some(started), Some(map)) = (task.started_at, object.as_object_mut()) {
        map.insert("startedAt".into(), json!(started));
    }
    object
}

/// The last task of an app that ended unexpectedly (`lastTaskFailure`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFailure {
    pub app_id: String,
    pub host: String,
    pub message: String,
    pub state: String,
    pub task_id: String,
    pub timestamp: Timestamp,
    pub version: Timestamp,
    pub slave_id: Option<String>,
}

impl TaskFailure {
    pub fn to_json(&self) -> Value {
        // Every key is always written; a missing agent id is null (Marathon's writer).
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
