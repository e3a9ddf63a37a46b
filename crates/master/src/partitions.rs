//! Partitions, as the core decides them. The shell pings agents (`agent_pings.rs`); an agent
//! that misses too many pings in a row is marked unreachable here (as Mesos does with
//! `--agent_ping_timeout` x `--max_agent_ping_timeouts`): its stream is closed, its offers
//! rescinded, and its tasks become TASK_UNREACHABLE for PARTITION_AWARE frameworks and
//! TASK_LOST for the others.
//!
//! When the agent comes back it re-registers with its tasks: a partition-aware framework's
//! unreachable task goes back to the state the agent reports (TASK_RUNNING); a task another
//! framework was told is lost is killed, since the framework has already replaced it.

use corral_api::agent_protocol::{AgentCommand, AgentScheme};
use corral_api::v1::{AgentId, FrameworkId, Task, TaskId, TaskState, reason};
use corral_state::WriteOp;

use super::allocator_events::AllocatorEvent;
use super::core::MasterCore;
use super::effects::{Effect, StreamId};
use super::registry_records::UNREACHABLE_PREFIX;

/// An agent the master pings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAgent {
    pub id: AgentId,
    pub stream: StreamId,
    /// `host:port` of its API, as it advertised them.
    pub address: String,
    pub scheme: AgentScheme,
}

/// Mesos' v1 name for a task status sent when its agent re-registers.
const AGENT_REREGISTERED: &str = "REASON_AGENT_REREGISTERED";

impl MasterCore {
    /// Every connected agent: its id, stream, `host:port` and scheme (known: it subscribed
    /// to this master).
    pub fn connected_agents(&self) -> Vec<ConnectedAgent> {
        self.agents
            .values()
            .filter_map(|a| {
                let stream = a.stream?;
                let port = a.info.port?;
                Some(ConnectedAgent {
                    id: a.id(),
                    stream,
                    address: format!("{}:{port}", a.info.hostname),
                    scheme: a.scheme.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The agent stopped answering pings. Returns whether it was connected (on `stream`).
    pub fn mark_agent_unreachable(
        &mut self,
        now_ms: u64,
        agent_id: &AgentId,
        stream: StreamId,
    ) -> bool {
        match self.agents.get_mut(agent_id) {
            Some(agent) if agent.stream == Some(stream) => agent.stream = None,
            _ => return false,
        }
        tracing::warn!(agent = %agent_id, "agent unreachable: it missed its pings");
        self.agent_removed_event(agent_id);
        self.partitions.unreachable.insert(agent_id.clone());
        self.effect(Effect::Persist(vec![WriteOp::Put {
            key: format!("{UNREACHABLE_PREFIX}{agent_id}"),
            value: now_ms.to_string().into_bytes(),
        }]));
        for offer_id in self.offers_on_agent(agent_id) {
            self.rescind_offer(&offer_id, false);
        }
        self.allocator(AllocatorEvent::RemoveAgent(agent_id.value.clone()));
        let on_agent: Vec<(FrameworkId, TaskId, bool)> = self
            .tasks_on(agent_id)
            .into_iter()
            .filter(|(_, r)| !r.task.state.is_terminal())
            .map(|(framework_id, r)| {
                let aware = self
                    .frameworks
                    .get(framework_id)
                    .is_some_and(|f| f.partition_aware());
                (framework_id.clone(), r.task.task_id.clone(), aware)
            })
            .collect();
        for (framework_id, task_id, aware) in on_agent {
            let state = if aware {
                TaskState::TaskUnreachable
            } else {
                self.partitions
                    .lost
                    .insert((framework_id.clone(), task_id.clone()));
                TaskState::TaskLost
            };
            self.master_update(
                now_ms,
                &framework_id,
                &task_id,
                state,
                reason::AGENT_REMOVED,
                "Agent is unreachable: it missed its pings",
                false,
            );
        }
        true
    }

    /// An agent the registry lists as unreachable (a master restarted since): its
    /// `unreachable/<id>` key is removed when it comes back.
    pub fn recover_unreachable(&mut self, agent_id: AgentId) {
        self.partitions.unreachable.insert(agent_id);
    }

    /// An agent registered: if it was unreachable, it no longer is.
    pub(super) fn agent_back_from_partition(&mut self, agent_id: &AgentId) {
        if self.partitions.unreachable.remove(agent_id) {
            tracing::info!(agent = %agent_id, "unreachable agent is back");
            self.effect(Effect::Persist(vec![WriteOp::Delete {
                key: format!("{UNREACHABLE_PREFIX}{agent_id}"),
            }]));
        }
    }

    /// A re-registering agent reports `task`: settles tasks the partition changed. Returns
    /// true when the task is dealt with here (and must not be adopted).
    pub(super) fn reported_after_partition(
        &mut self,
        now_ms: u64,
        agent_id: &AgentId,
        task: &Task,
    ) -> bool {
        let key = (task.framework_id.clone(), task.task_id.clone());
        if self.partitions.lost.remove(&key) {
            if !task.state.is_terminal() {
                tracing::info!(task = %task.task_id, agent = %agent_id,
                    "killing a task its framework was told is lost");
                self.send_command(
                    agent_id,
                    AgentCommand::KillTask {
                        framework_id: key.0,
                        task_id: key.1,
                        kill_policy: None,
                    },
                );
            }
            return true;
        }
        let unreachable = self
            .frameworks
            .get(&key.0)
            .and_then(|f| f.tasks.get(&key.1))
            .is_some_and(|r| r.task.state == TaskState::TaskUnreachable);
        if unreachable && task.state != TaskState::TaskUnreachable {
            self.master_update(
                now_ms,
                &key.0,
                &key.1,
                task.state,
                AGENT_REREGISTERED,
                "Agent re-registered after a partition",
                false,
            );
            return true;
        }
        false
    }
}
