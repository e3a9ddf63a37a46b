//! Framework messages between schedulers and their HTTP executors: a scheduler's MESSAGE call
//! goes to the executor's agent as a command; an executor's MESSAGE comes from its agent and
//! reaches the framework as a MESSAGE event. Best effort, as in Mesos: a message for a
//! framework or agent that is not connected is dropped.

use super::core::MasterCore;
use super::core_error::CoreError;
use corral_api::agent_protocol::{AgentCommand, ExecutorMessage};
use corral_api::scheduler::{Event, Message};
use corral_api::v1::FrameworkId;

impl MasterCore {
    /// A scheduler's MESSAGE call for one of its executors.
    pub(super) fn framework_message(&mut self, framework_id: &FrameworkId, message: Message) {
        let command = AgentCommand::FrameworkMessage {
            framework_id: framework_id.clone(),
            executor_id: message.executor_id,
            data: message.data,
        };
        if !self.send_command(&message.agent_id, command) {
            tracing::info!(framework = %framework_id, agent = %message.agent_id,
                "dropping a framework message for an agent that is not connected");
        }
    }

    /// An executor's MESSAGE, relayed by its agent.
    pub fn executor_message(&mut self, message: ExecutorMessage) -> Result<(), CoreError> {
        if !self.agents.contains_key(&message.agent_id) {
            return Err(CoreError::invalid(format!(
                "Unknown agent {}: an agent must register before it relays messages",
                message.agent_id
            )));
        }
        let event = Event::message(Message {
            agent_id: message.agent_id,
            executor_id: message.executor_id,
            data: message.data,
        });
        self.send_event(&message.framework_id, event);
        Ok(())
    }
}
