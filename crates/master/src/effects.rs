//! What the core asks the shell to do after each call: events for framework streams,
//! commands for agent streams, registry writes, events for operator subscribers. Plain data: the core queues them, the shell
//! carries them out.

use std::sync::Arc;

use corral_api::agent_protocol::AgentCommand;
use corral_api::operator_events::OperatorEvent;
use corral_api::scheduler::Event;
use corral_state::WriteOp;

/// Identifies one HTTP stream (a framework subscription or an agent connection). Framework
/// streams show it to clients as the `Mesos-Stream-Id` header.
pub type StreamId = uuid::Uuid;

/// What the shell must do after a call into the core.
// Effects live only between a core call and their dispatch; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send an event on a framework's subscription stream.
    Event { stream: StreamId, event: Event },
    /// End a framework's subscription stream (failover or teardown).
    CloseStream { stream: StreamId },
    /// Send a command on an agent's stream.
    Command {
        stream: StreamId,
        command: AgentCommand,
    },
    /// Registry writes, applied in order.
    Persist(Vec<WriteOp>),
    /// An event for the operator API subscribers that may view it (queued only while there
    /// is one).
    Operator(Arc<OperatorUpdate>),
}

/// An operator API event with the users the `view_*` ACLs decide it on: Mesos'
/// `Master::Subscribers::send` is given the task's `FrameworkInfo` and `Task` with it, and
/// each subscriber gets the event only if it may view both (`view_filter.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorUpdate {
    pub event: OperatorEvent,
    /// For TASK_ADDED and TASK_UPDATED: the task's framework's user and the user the task
    /// runs as; `None` when the master no longer knows them (the event is then shown only
    /// to subscribers whose views are not restricted).
    pub owner: Option<TaskOwner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOwner {
    pub framework_user: String,
    pub task_user: String,
}

impl OperatorUpdate {
    /// An event decided on its own content (SUBSCRIBED, agents, frameworks, heartbeats).
    pub fn unowned(event: OperatorEvent) -> Self {
        OperatorUpdate { event, owner: None }
    }
}

impl std::ops::Deref for OperatorUpdate {
    type Target = OperatorEvent;

    fn deref(&self) -> &OperatorEvent {
        &self.event
    }
}
