//! Operator `MARK_AGENT_GONE`: the agent is removed for good. Its tasks become
//! TASK_GONE_BY_OPERATOR, it is recorded under `gone/<id>` in the registry, a connected agent
//! is told to shut down (Mesos' `Master::markGone` sends a `ShutdownMessage`), and every later
//! call under its id is refused with the same words (`agents.rs`), so an agent that was away
//! shuts down when it comes back.

use corral_api::agent_protocol::{AGENT_GONE, AgentCommand};
use corral_api::v1::{AgentId, FrameworkId, TaskId, TaskState};
use corral_state::WriteOp;

use super::allocator_events::AllocatorEvent;
use super::core::MasterCore;
use super::core_error::CoreError;
use super::effects::{Effect, StreamId};
use super::registry_records::{AGENTS_PREFIX, GONE_PREFIX};

const REASON_GONE_BY_OPERATOR: &str = "REASON_AGENT_REMOVED_BY_OPERATOR";

impl MasterCore {
    pub fn is_gone(&self, agent_id: &AgentId) -> bool {
        self.partitions.gone.contains(agent_id)
    }

    /// An agent the registry records as gone (at start).
    pub fn recover_gone(&mut self, agent_id: AgentId) {
        self.agents.remove(&agent_id);
        self.partitions.gone.insert(agent_id);
    }

    /// Removes the agent for good; returns the stream it was connected on, if any.
    pub fn mark_agent_gone(
        &mut self,
        now_ms: u64,
        agent_id: &AgentId,
    ) -> Result<Option<StreamId>, CoreError> {
        if self.is_gone(agent_id) {
            return Ok(None);
        }
        let Some(agent) = self.agents.remove(agent_id) else {
            return Err(CoreError::not_found(format!(
                "Agent '{agent_id}' is not known"
            )));
        };
        tracing::warn!(agent = %agent_id, "agent marked gone by the operator");
        self.agent_removed_event(agent_id);
        for offer_id in self.offers_on_agent(agent_id) {
            self.rescind_offer(&offer_id, false);
        }
        if agent.stream.is_some() {
            self.allocator(AllocatorEvent::RemoveAgent(agent_id.value.clone()));
        }
        let on_agent: Vec<(FrameworkId, TaskId)> = self
            .tasks_on(agent_id)
            .into_iter()
            .filter(|(_, r)| !r.task.state.is_terminal())
            .map(|(framework_id, r)| (framework_id.clone(), r.task.task_id.clone()))
            .collect();
        for (framework_id, task_id) in on_agent {
            self.master_update(
                now_ms,
                &framework_id,
                &task_id,
                TaskState::TaskGoneByOperator,
                REASON_GONE_BY_OPERATOR,
                "Agent was marked gone by the operator",
                false,
            );
        }
        self.partitions.gone.insert(agent_id.clone());
        self.effect(Effect::Persist(vec![
            WriteOp::Delete {
                key: format!("{AGENTS_PREFIX}{agent_id}"),
            },
            WriteOp::Put {
                key: format!("{GONE_PREFIX}{agent_id}"),
                value: b"{}".to_vec(),
            },
        ]));
        if let Some(stream) = agent.stream {
            // The last record of its stream (the shell closes it after this call).
            self.effect(Effect::Command {
                stream,
                command: AgentCommand::Shutdown {
                    message: AGENT_GONE.to_string(),
                },
            });
        }
        Ok(agent.stream)
    }
}
