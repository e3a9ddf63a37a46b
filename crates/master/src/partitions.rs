//! Partitions: the master pings every connected agent (`GET /health` on the agent) every
//! `ping_timeout`; an agent that misses `max_ping_timeouts` pings in a row is marked
//! unreachable (as Mesos does with `--agent_ping_timeout` x `--max_agent_ping_timeouts`):
//! its stream is closed, its offers rescinded, and its tasks become TASK_UNREACHABLE for
//! PARTITION_AWARE frameworks and TASK_LOST for the others.
//!
//! When the agent comes back it re-registers with its tasks: a partition-aware framework's
//! unreachable task goes back to the state the agent reports (TASK_RUNNING); a task another
//! framework was told is lost is killed, since the framework has already replaced it.
//!
//! Only a ping that times out is a miss: an agent whose advertised `hostname:port` refuses
//! or does not resolve from the master is not judged by pings (its stream still tells when
//! it goes away).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::{AgentId, FrameworkId, Task, TaskId, TaskState, reason};

use super::allocation::AllocatorEvent;
use super::core::{Effect, MasterCore, StreamId};
use super::shell::Shared;
use corral_state::WriteOp;

/// Mesos' v1 name for a task status sent when its agent re-registers.
const AGENT_REREGISTERED: &str = "REASON_AGENT_REREGISTERED";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionConfig {
    pub ping_timeout: Duration,
    pub max_ping_timeouts: u32,
}

impl Default for PartitionConfig {
    /// Mesos' defaults: 15 s x 5.
    fn default() -> Self {
        PartitionConfig {
            ping_timeout: Duration::from_secs(15),
            max_ping_timeouts: 5,
        }
    }
}

/// What the core remembers of partitions.
#[derive(Debug, Default)]
pub struct PartitionState {
    /// Tasks of non-partition-aware frameworks reported TASK_LOST when their agent became
    /// unreachable: killed if the agent comes back with them.
    lost: BTreeSet<(FrameworkId, TaskId)>,
    /// Agents the operator marked gone: refused if they come back.
    pub(super) gone: BTreeSet<AgentId>,
    /// Agents marked unreachable (also under `unreachable/<id>` in the registry).
    unreachable: BTreeSet<AgentId>,
}

/// Registry keys of agents marked unreachable; the value is when (ms since the epoch).
pub const UNREACHABLE_PREFIX: &str = "unreachable/";

impl MasterCore {
    /// Every connected agent: its id, stream and `host:port`.
    pub fn connected_agents(&self) -> Vec<(AgentId, StreamId, String)> {
        self.agents
            .values()
            .filter_map(|a| {
                let stream = a.stream?;
                let port = a.info.port?;
                Some((a.id(), stream, format!("{}:{port}", a.info.hostname)))
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

/// Pings every connected agent each `ping_timeout`; marks the silent ones unreachable.
pub async fn ping_loop(shared: Arc<Shared>, config: PartitionConfig) {
    let http = match reqwest::Client::builder()
        .timeout(config.ping_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "cannot build the agent ping client; agents are not pinged");
            return;
        }
    };
    let mut misses: HashMap<StreamId, u32> = HashMap::new();
    let mut stop = shared.stop_signal();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(config.ping_timeout) => {}
            _ = stop.changed() => return,
        }
        if shared.stopping() {
            return;
        }
        let agents = shared.with_core(|core, _| core.connected_agents());
        let pings = agents.iter().map(|(_, _, addr)| {
            let request = http.get(format!("http://{addr}/health")).send();
            async move {
                match request.await {
                    // Only silence counts: an address that refuses or does not resolve
                    // (an agent advertising a hostname this master cannot reach it by)
                    // says nothing about the agent, whose stream is still open.
                    Err(e) if !e.is_timeout() => {
                        tracing::debug!(%addr, error = %e, "agent ping not delivered");
                        true
                    }
                    Err(_) => false,
                    Ok(r) => r.status().is_success(),
                }
            }
        });
        let answered = futures::future::join_all(pings).await;
        let live: BTreeSet<StreamId> = agents.iter().map(|(_, s, _)| *s).collect();
        misses.retain(|stream, _| live.contains(stream));
        for ((agent_id, stream, _), ok) in agents.into_iter().zip(answered) {
            if ok {
                misses.remove(&stream);
                continue;
            }
            let missed = misses.entry(stream).or_insert(0);
            *missed += 1;
            if *missed >= config.max_ping_timeouts {
                misses.remove(&stream);
                let marked = shared
                    .with_core(|core, now| core.mark_agent_unreachable(now, &agent_id, stream));
                if marked {
                    // Ending the stream makes the agent re-register when it is back.
                    shared.close_agent_stream(stream);
                }
            }
        }
    }
}
