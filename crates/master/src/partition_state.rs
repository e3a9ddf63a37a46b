//! What the core remembers of partitions and of agents the operator removed (see
//! `partitions.rs` and `gone.rs` for the decisions made with it).

use std::collections::BTreeSet;

use corral_api::v1::{AgentId, FrameworkId, TaskId};

#[derive(Debug, Default)]
pub struct PartitionState {
    /// Tasks of non-partition-aware frameworks reported TASK_LOST when their agent became
    /// unreachable: killed if the agent comes back with them.
    pub lost: BTreeSet<(FrameworkId, TaskId)>,
    /// Agents the operator marked gone: refused if they come back.
    pub gone: BTreeSet<AgentId>,
    /// Agents marked unreachable (also under `unreachable/<id>` in the registry).
    pub unreachable: BTreeSet<AgentId>,
}
