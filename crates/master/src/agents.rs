//! Agents: registration, re-registration (adopting the tasks they report, losing the ones
//! they do not), and disconnection.

use std::collections::BTreeSet;

use super::allocator_events::AllocatorEvent;
use super::core::{Agent, MasterCore, TaskRecord};
use super::core_error::CoreError;
use super::effects::{Effect, StreamId};
use super::hook_verdicts::AgentHookVerdict;
use super::task_validation::resource_problem;
use corral_api::agent_protocol::{AGENT_GONE, AgentCommand, AgentSubscribe};
use corral_api::ids::validate_id;
use corral_api::resources::Resources;
use corral_api::v1::{
    AgentId, AgentInfo, Attribute, FrameworkId, FrameworkInfo, Resource, Task, TaskId, TaskState,
    Text, ValueType, reason,
};

/// An agent's SUBSCRIBE once checked: the id it registers under (the one it had, or a new
/// one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAdmission {
    pub id: AgentId,
    pub reregistering: bool,
    /// Who registers it (authenticated), bound to the id from now on.
    pub principal: Option<String>,
}

impl MasterCore {
    /// An agent opened its stream, with no hooks to consult: [`admit_agent`] and
    /// [`agent_subscribe_admitted`] in one step.
    ///
    /// [`admit_agent`]: MasterCore::admit_agent
    /// [`agent_subscribe_admitted`]: MasterCore::agent_subscribe_admitted
    pub fn agent_subscribe(
        &mut self,
        now_ms: u64,
        subscribe: AgentSubscribe,
        stream: StreamId,
    ) -> Result<AgentId, CoreError> {
        self.agent_subscribe_as(now_ms, subscribe, None, stream)
    }

    /// [`agent_subscribe`](MasterCore::agent_subscribe) by an authenticated `principal`.
    pub fn agent_subscribe_as(
        &mut self,
        now_ms: u64,
        subscribe: AgentSubscribe,
        principal: Option<&str>,
        stream: StreamId,
    ) -> Result<AgentId, CoreError> {
        let admission = self.admit_agent(&subscribe, principal)?;
        self.agent_subscribe_admitted(
            now_ms,
            subscribe,
            admission,
            AgentHookVerdict::default(),
            stream,
        )
    }

    /// Checks an agent's SUBSCRIBE (by `principal`, if it authenticated) and gives a new
    /// agent its id; nothing else changes. The `on-agent-register` hooks see the agent under
    /// this id.
    pub fn admit_agent(
        &mut self,
        subscribe: &AgentSubscribe,
        principal: Option<&str>,
    ) -> Result<AgentAdmission, CoreError> {
        if subscribe.info.hostname.trim().is_empty() {
            return Err(CoreError::invalid("Agent info must have a hostname"));
        }
        // An amount past the bound would sum (and round) to infinity, which GET_STATE and
        // the operator events would write as `null`.
        for r in &subscribe.info.resources {
            if let Some(problem) = resource_problem(r) {
                return Err(CoreError::invalid(format!(
                    "Agent resources are invalid: '{}' has {problem}",
                    r.name
                )));
            }
        }
        if let Some(id) = &subscribe.agent_id {
            self.check_not_gone(id)?;
            self.check_agent_principal(id, principal)?;
        }
        let id = match subscribe.agent_id.clone() {
            Some(id) => {
                validate_id("Agent", &id.value).map_err(|e| CoreError::invalid(e.to_string()))?;
                id
            }
            None => self.new_agent_id(),
        };
        Ok(AgentAdmission {
            id,
            reregistering: subscribe.agent_id.is_some(),
            principal: principal.map(str::to_string),
        })
    }

    /// A call under an agent id (a status update, a message, a plugin report): refused for
    /// an agent marked gone, and for anyone but the principal the id is bound to.
    pub fn check_agent_caller(
        &self,
        id: &AgentId,
        principal: Option<&str>,
    ) -> Result<(), CoreError> {
        self.check_not_gone(id)?;
        self.check_agent_principal(id, principal)
    }

    /// An agent id bound to a principal answers only to it: a second subscription, a status
    /// update or a message under that id from anyone else is refused. The bound principal is
    /// not named, so the refusal tells a prober nothing.
    pub fn check_agent_principal(
        &self,
        id: &AgentId,
        principal: Option<&str>,
    ) -> Result<(), CoreError> {
        let bound = self.agents.get(id).and_then(|a| a.principal.as_deref());
        match bound {
            Some(bound) if Some(bound) != principal => {
                tracing::warn!(agent = %id, principal = principal.unwrap_or("<none>"),
                    "refused a call under an agent id registered by another principal");
                Err(CoreError::forbidden(format!(
                    "Agent '{id}' is registered by another principal"
                )))
            }
            _ => Ok(()),
        }
    }

    /// A gone agent's every call is refused with Mesos' words ([`AGENT_GONE`]), by which the
    /// agent knows to shut down rather than retry.
    fn check_not_gone(&self, id: &AgentId) -> Result<(), CoreError> {
        if self.is_gone(id) {
            return Err(CoreError::forbidden(format!(
                "{AGENT_GONE}: agent '{id}' may not register or report again"
            )));
        }
        Ok(())
    }

    /// An admitted agent registers on `stream`, decorated (or refused) by the hooks'
    /// `verdict`. A known id re-registers; the newest stream wins. `Registered` is the first
    /// command queued for `stream`.
    pub fn agent_subscribe_admitted(
        &mut self,
        now_ms: u64,
        subscribe: AgentSubscribe,
        admission: AgentAdmission,
        verdict: AgentHookVerdict,
        stream: StreamId,
    ) -> Result<AgentId, CoreError> {
        let AgentAdmission {
            id,
            reregistering,
            principal,
        } = admission;
        // The operator may have marked it gone, or another principal taken the id, while the
        // hooks ran.
        self.check_not_gone(&id)?;
        self.check_agent_principal(&id, principal.as_deref())?;
        let mut decorated = subscribe.info.clone();
        decorated.id = Some(id.clone());
        // Hooks (issue 6): resources and attributes to add, or a refusal (before any change).
        decorate_agent(&mut decorated, verdict)?;
        let previous = self.agents.get(&id).cloned();
        if previous.as_ref().is_some_and(|a| a.connected()) {
            // A newer stream replaces a live one: forget what the allocator knew of the old
            // one; the agent is re-added below from what it reports now.
            for offer_id in self.offers_on_agent(&id) {
                self.rescind_offer(&offer_id, false);
            }
            self.allocator(AllocatorEvent::RemoveAgent(id.value.clone()));
        }
        let info = decorated;
        let agent = Agent {
            total: Resources::from_list(&info.resources),
            info,
            stream: Some(stream),
            version: subscribe.version,
            registered_ms: previous.as_ref().map_or(now_ms, |a| a.registered_ms),
            isolation_note: subscribe.isolation_note,
            scheme: Some(subscribe.scheme),
            incarnation: previous.as_ref().map_or(1, |a| a.incarnation + 1),
            principal,
        };
        tracing::info!(
            agent = %id,
            hostname = %agent.info.hostname,
            resources = %agent.total.summary(),
            reregistering,
            tasks = subscribe.tasks.len(),
            "agent registered"
        );
        self.agents.insert(id.clone(), agent);
        self.reapply_reservations(&id);
        self.agent_added_event(&id);
        self.effect(Effect::Command {
            stream,
            command: AgentCommand::Registered {
                agent_id: id.clone(),
            },
        });
        if reregistering {
            self.reconcile_agent_tasks(now_ms, &id, subscribe.tasks, subscribe.frameworks);
        }
        let snapshot = self
            .agents
            .get(&id)
            .map(Agent::snapshot)
            .unwrap_or_default();
        let allocations = self.allocations_on(&id);
        self.allocator(AllocatorEvent::AddAgent(snapshot, allocations));
        // A re-registration that changes nothing writes nothing: after a failover that is
        // every agent of the cluster, and etcd's share of the storm.
        let unchanged = previous
            .as_ref()
            .zip(self.agents.get(&id))
            .is_some_and(|(before, now)| before.info == now.info);
        if !unchanged {
            self.persist_agent(&id);
        }
        self.agent_back_from_partition(&id);
        self.request_allocation();
        Ok(id)
    }

    /// Makes the master's tasks on an agent match what the agent reports: unknown reported
    /// tasks are adopted (after a master restart), known tasks it did not report are lost,
    /// and tasks of frameworks that were removed are shut down.
    fn reconcile_agent_tasks(
        &mut self,
        now_ms: u64,
        agent_id: &AgentId,
        reported: Vec<Task>,
        frameworks: Vec<FrameworkInfo>,
    ) {
        let mut seen: BTreeSet<(FrameworkId, TaskId)> = BTreeSet::new();
        let mut shutdown: BTreeSet<FrameworkId> = BTreeSet::new();
        for mut task in reported {
            let framework_id = task.framework_id.clone();
            seen.insert((framework_id.clone(), task.task_id.clone()));
            if self.reported_after_partition(now_ms, agent_id, &task) {
                continue;
            }
            if !self.frameworks.contains_key(&framework_id) {
                if self.is_completed_framework(&framework_id) {
                    shutdown.insert(framework_id);
                    continue;
                }
                let info = frameworks
                    .iter()
                    .find(|f| f.id.as_ref() == Some(&framework_id))
                    .cloned()
                    .unwrap_or_else(|| FrameworkInfo {
                        id: Some(framework_id.clone()),
                        ..Default::default()
                    });
                tracing::info!(framework = %framework_id, agent = %agent_id,
                    "recovered a framework from an agent's report");
                self.recover_framework(now_ms, info);
            }
            let Some(framework) = self.frameworks.get_mut(&framework_id) else {
                continue;
            };
            if framework.tasks.contains_key(&task.task_id) {
                continue;
            }
            // Debug: a failover re-adopts every task of the cluster (100k lines at 10k agents).
            tracing::debug!(task = %task.task_id, framework = %framework_id, agent = %agent_id,
                state = %task.state, "adopting a task reported by its agent");
            task.agent_id = agent_id.clone();
            let role = task_role(&task.resources, &framework.info);
            let record = TaskRecord {
                resources: Resources::from_list(&task.resources),
                released: task.state.is_terminal(),
                role,
                task,
                executor: None,
            };
            self.tasks_by_agent
                .entry(agent_id.clone())
                .or_default()
                .insert((framework_id.clone(), record.task.task_id.clone()));
            let task_id = record.task.task_id.clone();
            framework.tasks.insert(task_id.clone(), record);
            self.task_added_event(&framework_id, &task_id);
        }
        let missing: Vec<(FrameworkId, TaskId)> = self
            .tasks_on(agent_id)
            .into_iter()
            .filter(|(_, r)| !r.task.state.is_terminal())
            .map(|(framework_id, r)| (framework_id.clone(), r.task.task_id.clone()))
            .filter(|key| !seen.contains(key))
            .collect();
        for (framework_id, task_id) in missing {
            let lost = match self.frameworks.get(&framework_id) {
                Some(f) if f.partition_aware() => TaskState::TaskDropped,
                _ => TaskState::TaskLost,
            };
            // The allocator does not hold this agent right now (it is re-added after this),
            // so the resources are only marked released.
            self.master_update(
                now_ms,
                &framework_id,
                &task_id,
                lost,
                reason::AGENT_RESTARTED,
                "Task was not reported by its agent when it re-registered",
                false,
            );
        }
        for framework_id in shutdown {
            self.send_command(agent_id, AgentCommand::ShutdownFramework { framework_id });
        }
    }

    /// An agent's stream closed. A stale stream changes nothing; otherwise the agent is
    /// disconnected: its offers are rescinded and the allocator forgets it until it comes
    /// back. Its tasks stay.
    pub fn agent_stream_closed(&mut self, stream: StreamId) {
        let Some(id) = self
            .agents
            .values()
            .find(|a| a.stream == Some(stream))
            .map(Agent::id)
        else {
            return;
        };
        tracing::info!(agent = %id, "agent disconnected");
        if let Some(agent) = self.agents.get_mut(&id) {
            agent.stream = None;
        }
        for offer_id in self.offers_on_agent(&id) {
            self.rescind_offer(&offer_id, false);
        }
        self.allocator(AllocatorEvent::RemoveAgent(id.value.clone()));
    }

    /// The principal a recovered agent's id is bound to.
    pub fn recover_agent_principal(&mut self, id: &AgentId, principal: String) {
        if let Some(agent) = self.agents.get_mut(id) {
            agent.principal = Some(principal);
        }
    }

    /// An agent known from the registry: disconnected until it re-registers.
    pub fn recover_agent(&mut self, now_ms: u64, info: AgentInfo) -> bool {
        let Some(id) = info.id.clone() else {
            return false;
        };
        if self.agents.contains_key(&id) {
            return false;
        }
        let agent = Agent {
            total: Resources::from_list(&info.resources),
            info,
            stream: None,
            version: String::new(),
            registered_ms: now_ms,
            isolation_note: None,
            // Not in the registry: the agent tells it again when it re-subscribes.
            scheme: None,
            incarnation: 0,
            principal: None,
        };
        self.agents.insert(id.clone(), agent);
        self.reapply_reservations(&id);
        true
    }
}

/// The role a task's resources are allocated to: from `allocation_info`, else the
/// framework's first role.
pub fn task_role(resources: &[Resource], framework: &FrameworkInfo) -> String {
    resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
        .or_else(|| framework.effective_roles().into_iter().next())
        .unwrap_or_else(|| "*".to_string())
}

/// Applies what the `on-agent-register` hooks decided to the agent's info: their resources
/// are added, their attributes added as text (replacing one of the same name); or the
/// registration is refused.
fn decorate_agent(info: &mut AgentInfo, verdict: AgentHookVerdict) -> Result<(), CoreError> {
    match verdict {
        AgentHookVerdict::Refuse(reason) => {
            tracing::warn!(hostname = %info.hostname, %reason, "agent registration refused");
            Err(CoreError::forbidden(format!(
                "Agent registration refused: {reason}"
            )))
        }
        AgentHookVerdict::Decorate {
            resources,
            attributes,
        } => {
            info.resources.extend(resources);
            for (name, value) in attributes {
                info.attributes.retain(|a| a.name != name);
                info.attributes.push(Attribute {
                    name,
                    kind: ValueType::Text,
                    text: Some(Text { value }),
                    ..Default::default()
                });
            }
            Ok(())
        }
    }
}
