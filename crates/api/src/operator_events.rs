//! The operator API's event stream (`SUBSCRIBE` on `POST /api/v1`): `master.proto`'s `Event`,
//! in JSON. The first event is SUBSCRIBED with the whole state; then the changes, in the
//! order the master applies them, and a HEARTBEAT every `heartbeat_interval_seconds`.

use serde::{Deserialize, Serialize};

use super::operator::{AgentEntry, FrameworkEntry, GetState};
use super::v1::{AgentId, FrameworkId, FrameworkInfo, Task, TaskState, TaskStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorEventType {
    Subscribed,
    TaskAdded,
    TaskUpdated,
    AgentAdded,
    AgentRemoved,
    FrameworkAdded,
    FrameworkUpdated,
    FrameworkRemoved,
    Heartbeat,
    /// A type this build does not know (a newer master's): skipped by readers.
    #[serde(other)]
    Unknown,
}

/// `Event.Subscribed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OperatorSubscribed {
    pub get_state: GetState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_seconds: Option<f64>,
}

/// `Event.TaskAdded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskAdded {
    pub task: Task,
}

/// `Event.TaskUpdated`: the update and the task's latest state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskUpdated {
    pub framework_id: FrameworkId,
    pub status: TaskStatus,
    pub state: TaskState,
}

/// `Event.AgentAdded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AgentAdded {
    pub agent: AgentEntry,
}

/// `Event.AgentRemoved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AgentRemoved {
    pub agent_id: AgentId,
}

/// `Event.FrameworkAdded` and `Event.FrameworkUpdated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FrameworkChanged {
    pub framework: FrameworkEntry,
}

/// `Event.FrameworkRemoved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FrameworkRemoved {
    pub framework_info: FrameworkInfo,
}

/// `master.proto`'s `Event`: the type and the one matching field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorEvent {
    #[serde(rename = "type")]
    pub kind: OperatorEventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<OperatorSubscribed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_added: Option<TaskAdded>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_updated: Option<TaskUpdated>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_added: Option<AgentAdded>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_removed: Option<AgentRemoved>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_added: Option<FrameworkChanged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_updated: Option<FrameworkChanged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_removed: Option<FrameworkRemoved>,
}

impl OperatorEvent {
    fn of(kind: OperatorEventType) -> Self {
        OperatorEvent {
            kind,
            subscribed: None,
            task_added: None,
            task_updated: None,
            agent_added: None,
            agent_removed: None,
            framework_added: None,
            framework_updated: None,
            framework_removed: None,
        }
    }

    pub fn subscribed(get_state: GetState, heartbeat_interval_seconds: f64) -> Self {
        let mut event = Self::of(OperatorEventType::Subscribed);
        event.subscribed = Some(OperatorSubscribed {
            get_state,
            heartbeat_interval_seconds: Some(heartbeat_interval_seconds),
        });
        event
    }

    pub fn heartbeat() -> Self {
        Self::of(OperatorEventType::Heartbeat)
    }

    pub fn task_added(task: Task) -> Self {
        let mut event = Self::of(OperatorEventType::TaskAdded);
        event.task_added = Some(TaskAdded { task });
        event
    }

    pub fn task_updated(framework_id: FrameworkId, status: TaskStatus, state: TaskState) -> Self {
        let mut event = Self::of(OperatorEventType::TaskUpdated);
        event.task_updated = Some(TaskUpdated {
            framework_id,
            status,
            state,
        });
        event
    }

    pub fn agent_added(agent: AgentEntry) -> Self {
        let mut event = Self::of(OperatorEventType::AgentAdded);
        event.agent_added = Some(AgentAdded { agent });
        event
    }

    pub fn agent_removed(agent_id: AgentId) -> Self {
        let mut event = Self::of(OperatorEventType::AgentRemoved);
        event.agent_removed = Some(AgentRemoved { agent_id });
        event
    }

    pub fn framework_added(framework: FrameworkEntry) -> Self {
        let mut event = Self::of(OperatorEventType::FrameworkAdded);
        event.framework_added = Some(FrameworkChanged { framework });
        event
    }

    pub fn framework_updated(framework: FrameworkEntry) -> Self {
        let mut event = Self::of(OperatorEventType::FrameworkUpdated);
        event.framework_updated = Some(FrameworkChanged { framework });
        event
    }

    pub fn framework_removed(framework_info: FrameworkInfo) -> Self {
        let mut event = Self::of(OperatorEventType::FrameworkRemoved);
        event.framework_removed = Some(FrameworkRemoved { framework_info });
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_as_master_proto_names_them() {
        let event = OperatorEvent::task_updated(
            FrameworkId::new("f"),
            TaskStatus::default(),
            TaskState::TaskRunning,
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "TASK_UPDATED");
        assert_eq!(json["task_updated"]["framework_id"]["value"], "f");
        assert_eq!(json["task_updated"]["state"], "TASK_RUNNING");
        assert!(json.get("subscribed").is_none());
        let heartbeat = serde_json::to_string(&OperatorEvent::heartbeat()).unwrap();
        assert_eq!(heartbeat, r#"{"type":"HEARTBEAT"}"#);
    }

    #[test]
    fn unknown_event_types_are_read_as_unknown() {
        let event: OperatorEvent = serde_json::from_str(r#"{"type":"NEW_THING"}"#).unwrap();
        assert_eq!(event.kind, OperatorEventType::Unknown);
        let back: OperatorEvent =
            serde_json::from_value(serde_json::to_value(OperatorEvent::heartbeat()).unwrap())
                .unwrap();
        assert_eq!(back.kind, OperatorEventType::Heartbeat);
    }
}
