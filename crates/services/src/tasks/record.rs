//! [`TaskRecord`]: one launched task, from the launch until its terminal update.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use corral_api::v1::{Attribute, TaskState, TaskStatus};

use crate::path_id::PathId;
use crate::time::Timestamp;

/// One IP address of a task, as Mesos reports it in the task's container status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    pub ip_address: String,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// `<app id in safe form>.<uuid>`, Marathon's task id for app tasks.
    pub id: String,
    pub app_id: String,
    /// The app version the task was launched with.
    pub version: Timestamp,
    /// The app's last configuration change at launch: an older one makes the task outdated.
    pub config_version: Timestamp,
    pub agent_id: String,
    pub host: String,
    /// The agent's attributes, for placement constraints on later launches.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// The host ports taken from the offer, in port-definition order.
    #[serde(default)]
    pub ports: Vec<u32>,
    pub state: TaskState,
    pub staged_at: Timestamp,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub ip_addresses: Vec<IpAddress>,
    /// When Corral last asked the master to kill the task, in ms (stored, so a kill asked
    /// through the API is carried out by a restarted or new leading services process too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_requested_at: Option<u64>,
    /// The health the agent's executor reported with the task's last update (Mesos-side
    /// health checks: `COMMAND`, `MESOS_HTTP`, `MESOS_TCP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    /// Since when the task has been unreachable, in ms.
    #[serde(skip)]
    pub unreachable_since: Option<u64>,
}

impl TaskRecord {
    /// A new task id for `app`: Marathon's `Task.Id.forRunSpec` (`shop_web.<uuid>`).
    pub fn new_id(app: &PathId, uuid: &str) -> String {
        format!("{}.{uuid}", app.safe())
    }

    /// The app id a task id names (the part before the last `.` or `_`), if it has one.
    pub fn app_of(task_id: &str) -> Option<PathId> {
        let split = task_id.rfind(['.', '_'])?;
        let app = PathId::from_safe(&task_id[..split]);
        (!app.is_root()).then_some(app)
    }

    pub fn is_running(&self) -> bool {
        self.state == TaskState::TaskRunning
    }

    /// Staging or starting: launched, not yet running.
    pub fn is_staging(&self) -> bool {
        matches!(self.state, TaskState::TaskStaging | TaskState::TaskStarting)
    }

    pub fn kill_requested(&self) -> bool {
        self.kill_requested_at.is_some()
    }

    /// Takes in a (non-terminal) status: its state, start time, unreachability and addresses.
    pub fn observe(&mut self, status: &TaskStatus, now_ms: u64) {
        let at = status
            .timestamp
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| (t * 1000.0) as u64)
            .unwrap_or(now_ms);
        self.state = status.state;
        if status.healthy.is_some() {
            self.healthy = status.healthy;
        }
        if status.state == TaskState::TaskRunning && self.started_at.is_none() {
            self.started_at = Some(Timestamp(at));
        }
        if status.state == TaskState::TaskUnreachable {
            self.unreachable_since.get_or_insert(now_ms);
        } else {
            self.unreachable_since = None;
        }
        let addresses = ip_addresses(status.container_status.as_ref());
        if !addresses.is_empty() {
            self.ip_addresses = addresses;
        }
    }
}

/// The addresses in a v1 `ContainerStatus` (`network_infos[].ip_addresses[]`).
fn ip_addresses(container_status: Option<&Value>) -> Vec<IpAddress> {
    let Some(infos) = container_status
        .and_then(|c| c.get("network_infos"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    infos
        .iter()
        .filter_map(|info| info.get("ip_addresses").and_then(Value::as_array))
        .flatten()
        .filter_map(|a| {
            let ip = a.get("ip_address")?.as_str()?;
            let protocol = a.get("protocol").and_then(Value::as_str).unwrap_or("IPv4");
            Some(IpAddress {
                ip_address: ip.to_string(),
                protocol: protocol.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_marathons_task_id_format() {
        let app = PathId::parse("/shop/web");
        let id = TaskRecord::new_id(&app, "564bd685-4c30-11e5-98c1-be5b2935a987");
        assert_eq!(id, "shop_web.564bd685-4c30-11e5-98c1-be5b2935a987");
        assert_eq!(TaskRecord::app_of(&id), Some(app));
        // The ids in Marathon's examples/tasks.json.
        assert_eq!(
            TaskRecord::app_of("tools_docker_registry.002b4d28-46b9-11e5-b731-525400cce7ed")
                .map(|a| a.to_string())
                .as_deref(),
            Some("/tools/docker/registry")
        );
        assert_eq!(TaskRecord::app_of("nodots"), None);
    }
}
