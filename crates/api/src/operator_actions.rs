//! Payloads of the operator calls that act on frameworks and tasks: Mesos' `TEARDOWN`
//! (include/mesos/v1/master/master.proto, `Call.Teardown`) and Corral's `KILL_TASK`.

use serde::{Deserialize, Serialize};

use super::v1::{FrameworkId, TaskId};

/// `TEARDOWN`'s payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Teardown {
    pub framework_id: FrameworkId,
}

/// `KILL_TASK`'s payload (Corral's): the framework may be left out when the id is unique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct KillTask {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
}
