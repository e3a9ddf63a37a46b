//! The v1 operator API envelopes (include/mesos/v1/master/master.proto), for the calls Corral
//! answers. Requests are `{"type": "GET_STATE"}`; responses carry the type and one field.

use serde::{Deserialize, Serialize};

use super::v1::{AgentInfo, FrameworkInfo, Resource, Task, TimeInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorCallType {
    GetHealth,
    GetFlags,
    GetVersion,
    GetMetrics,
    GetLoggingLevel,
    SetLoggingLevel,
    GetState,
    GetAgents,
    GetFrameworks,
    GetExecutors,
    GetTasks,
    GetRoles,
    GetMaster,
    Subscribe,
    GetWeights,
    GetQuota,
    UpdateWeights,
    UpdateQuota,
    ReserveResources,
    UnreserveResources,
    MarkAgentGone,
    Teardown,
    /// Corral's own call (Mesos has none that kills one task for an operator).
    KillTask,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorCall {
    #[serde(rename = "type")]
    pub kind: OperatorCallType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetHealth {
    pub healthy: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VersionInfo {
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetVersion {
    pub version_info: VersionInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AgentEntry {
    pub agent_info: AgentInfo,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_time: Option<TimeInfo>,
    #[serde(default)]
    pub total_resources: Vec<Resource>,
    #[serde(default)]
    pub allocated_resources: Vec<Resource>,
    #[serde(default)]
    pub offered_resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetAgents {
    #[serde(default)]
    pub agents: Vec<AgentEntry>,
    #[serde(default)]
    pub recovered_agents: Vec<AgentInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FrameworkEntry {
    pub framework_info: FrameworkInfo,
    pub active: bool,
    pub connected: bool,
    pub recovered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_time: Option<TimeInfo>,
    #[serde(default)]
    pub allocated_resources: Vec<Resource>,
    #[serde(default)]
    pub offered_resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetFrameworks {
    #[serde(default)]
    pub frameworks: Vec<FrameworkEntry>,
    #[serde(default)]
    pub completed_frameworks: Vec<FrameworkEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetTasks {
    #[serde(default)]
    pub pending_tasks: Vec<Task>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub unreachable_tasks: Vec<Task>,
    #[serde(default)]
    pub completed_tasks: Vec<Task>,
    /// The agent's name for its live tasks (agent.proto `Response.GetTasks`); the master
    /// leaves it empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launched_tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetExecutors {
    #[serde(default)]
    pub executors: Vec<ExecutorEntry>,
}

/// `Response.GetExecutors.Executor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExecutorEntry {
    pub executor_info: super::v1::ExecutorInfo,
    pub agent_id: super::v1::AgentId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetState {
    pub get_tasks: GetTasks,
    pub get_executors: GetExecutors,
    pub get_frameworks: GetFrameworks,
    pub get_agents: GetAgents,
}

/// A response: `type` plus the one matching field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorResponse {
    #[serde(rename = "type")]
    pub kind: OperatorCallType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_health: Option<GetHealth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_version: Option<GetVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_state: Option<GetState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_agents: Option<GetAgents>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_frameworks: Option<GetFrameworks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_tasks: Option<GetTasks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_executors: Option<GetExecutors>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_weights: Option<super::operator_roles::GetWeights>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_quota: Option<super::operator_roles::GetQuota>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_roles: Option<super::operator_roles::GetRoles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_master: Option<GetMaster>,
}

/// `GET_MASTER`: the master that answers (the leader: followers redirect operator calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetMaster {
    pub master_info: super::v1::MasterInfo,
}

impl OperatorResponse {
    pub fn empty(kind: OperatorCallType) -> Self {
        OperatorResponse {
            kind,
            get_health: None,
            get_version: None,
            get_state: None,
            get_agents: None,
            get_frameworks: None,
            get_tasks: None,
            get_executors: None,
            get_weights: None,
            get_quota: None,
            get_roles: None,
            get_master: None,
        }
    }
}
