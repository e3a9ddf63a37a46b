//! The Mesos v1 executor HTTP API (`POST /api/v1/executor`), as
//! include/mesos/v1/executor/executor.proto defines its JSON: calls from an executor
//! (SUBSCRIBE, UPDATE, MESSAGE) and the events of its subscription stream.

use serde::{Deserialize, Serialize};

use super::v1::{
    AgentInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Id, KillPolicy, TaskId,
    TaskInfo, TaskStatus,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallType {
    Unknown,
    Subscribe,
    Update,
    Message,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub executor_id: ExecutorId,
    pub framework_id: FrameworkId,
    #[serde(rename = "type")]
    pub kind: CallType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// On a resubscription the executor lists what the agent has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Subscribe {
    #[serde(default)]
    pub unacknowledged_tasks: Vec<TaskInfo>,
    #[serde(default)]
    pub unacknowledged_updates: Vec<Update>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub status: TaskStatus,
}

/// Opaque bytes, base64 in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    Subscribed,
    Launch,
    Kill,
    Acknowledged,
    Message,
    Error,
    Shutdown,
    Heartbeat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<Subscribed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub executor_info: ExecutorInfo,
    pub framework_info: FrameworkInfo,
    pub agent_info: AgentInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub task: TaskInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

/// `uuid` is the acknowledged update's uuid, base64 as the executor sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub task_id: TaskId,
    pub uuid: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub message: String,
}

impl Event {
    fn bare(kind: EventType) -> Self {
        Event {
            kind,
            subscribed: None,
            launch: None,
            kill: None,
            acknowledged: None,
            message: None,
            error: None,
        }
    }

    pub fn subscribed(subscribed: Subscribed) -> Self {
        Event {
            subscribed: Some(subscribed),
            ..Self::bare(EventType::Subscribed)
        }
    }

    pub fn launch(task: TaskInfo) -> Self {
        Event {
            launch: Some(Launch { task }),
            ..Self::bare(EventType::Launch)
        }
    }

    pub fn kill(task_id: TaskId, kill_policy: Option<KillPolicy>) -> Self {
        Event {
            kill: Some(Kill {
                task_id,
                kill_policy,
            }),
            ..Self::bare(EventType::Kill)
        }
    }

    pub fn acknowledged(task_id: TaskId, uuid: String) -> Self {
        Event {
            acknowledged: Some(Acknowledged { task_id, uuid }),
            ..Self::bare(EventType::Acknowledged)
        }
    }

    pub fn message(data: String) -> Self {
        Event {
            message: Some(Message { data }),
            ..Self::bare(EventType::Message)
        }
    }

    pub fn shutdown() -> Self {
        Self::bare(EventType::Shutdown)
    }

    pub fn heartbeat() -> Self {
        Self::bare(EventType::Heartbeat)
    }
}
