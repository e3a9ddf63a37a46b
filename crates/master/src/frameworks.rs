//! Frameworks: subscription and failover, disconnection, the failover timeout, teardown.

use std::collections::BTreeSet;

use super::allocator_events::AllocatorEvent;
use super::core::{CompletedFramework, Framework, MasterCore, timestamp};
use super::core_error::CoreError;
use super::effects::{Effect, StreamId};
use super::operator_events::FrameworkChange;
use super::registry_records::delete_framework;
use super::role_rules::validate_role;
use corral_api::agent_protocol::AgentCommand;
use corral_api::ids::validate_id;
use corral_api::scheduler::{Event, Subscribe, Subscribed};
use corral_api::v1::{
    AgentId, FrameworkId, FrameworkInfo, StatusSource, TaskState, TaskStatus, reason,
};

/// How long a framework recovered without a failover timeout (0, the default) gets to
/// resubscribe after a master restart or a leader change, so that these alone never kill its
/// tasks. A framework that set a timeout gets exactly that, counted from the new master's
/// start, as in Mesos ("how long the master will wait for a framework to reconnect after a
/// failover"): the disconnect time is not in the registry, the timer restarts at failover.
pub const RECOVERED_FRAMEWORK_GRACE_MS: u64 = 120_000;

impl MasterCore {
    /// SUBSCRIBE on a new stream. The SUBSCRIBED event (or, for a framework that was torn
    /// down, an ERROR and the end of the stream) is queued for `stream`.
    pub fn subscribe(
        &mut self,
        now_ms: u64,
        call_framework_id: Option<FrameworkId>,
        subscribe: Subscribe,
        stream: StreamId,
        heartbeat_interval_seconds: f64,
    ) -> Result<FrameworkId, CoreError> {
        let mut info = subscribe.framework_info;
        validate_framework_info(
            &info,
            call_framework_id.as_ref(),
            &subscribe.suppressed_roles,
        )?;
        if info.id.is_none() {
            info.id = call_framework_id;
        }
        let suppressed: BTreeSet<String> = subscribe.suppressed_roles.into_iter().collect();
        let id = match info.id.clone() {
            Some(id) if self.is_completed_framework(&id) => {
                let message = "Framework has been removed";
                self.effect(Effect::Event {
                    stream,
                    event: Event::error(message),
                });
                self.effect(Effect::CloseStream { stream });
                tracing::info!(framework = %id, "refused the resubscription of a removed framework");
                return Ok(id);
            }
            Some(id) if self.principal_changes(&id, &info) => {
                // As Mesos: the ERROR does not name the principal the id belongs to.
                self.effect(Effect::Event {
                    stream,
                    event: Event::error("Changing framework's principal is not allowed."),
                });
                self.effect(Effect::CloseStream { stream });
                tracing::warn!(framework = %id,
                    principal = info.principal.as_deref().unwrap_or("<none>"),
                    "refused a resubscription under another principal");
                return Ok(id);
            }
            Some(id) if self.frameworks.contains_key(&id) => {
                self.failover_framework(&id, info, suppressed, stream);
                id
            }
            Some(id) => {
                self.add_framework(now_ms, id.clone(), info, suppressed, stream);
                id
            }
            None => {
                let id = self.new_framework_id();
                self.add_framework(now_ms, id.clone(), info, suppressed, stream);
                id
            }
        };
        self.effect(Effect::Event {
            stream,
            event: Event::subscribed(Subscribed {
                framework_id: id.clone(),
                heartbeat_interval_seconds: Some(heartbeat_interval_seconds),
                master_info: Some(self.master_info.clone()),
            }),
        });
        self.persist_framework(&id);
        self.request_allocation();
        Ok(id)
    }

    /// Whether `info` resubscribes a known framework under another principal: a framework
    /// id belongs to the principal that registered it.
    fn principal_changes(&self, id: &FrameworkId, info: &FrameworkInfo) -> bool {
        self.frameworks
            .get(id)
            .is_some_and(|known| known.info.principal != info.principal)
    }

    fn add_framework(
        &mut self,
        now_ms: u64,
        id: FrameworkId,
        mut info: FrameworkInfo,
        suppressed: BTreeSet<String>,
        stream: StreamId,
    ) {
        tracing::info!(framework = %id, name = %info.name, "framework subscribed");
        info.id = Some(id.clone());
        let framework = Framework {
            info,
            stream: Some(stream),
            suppressed_roles: suppressed.clone(),
            tasks: Default::default(),
            registered_ms: now_ms,
            disconnected_ms: None,
            recovered: false,
        };
        self.allocator(AllocatorEvent::AddFramework(framework.snapshot(), true));
        if !suppressed.is_empty() {
            self.allocator(AllocatorEvent::Suppress(
                id.value.clone(),
                suppressed.into_iter().collect(),
            ));
        }
        self.frameworks.insert(id.clone(), framework);
        self.framework_event(FrameworkChange::Added, &id);
    }

    /// A known framework subscribes again: the new stream replaces the old one (which gets an
    /// ERROR and ends), its tasks stay, its outstanding offers are withdrawn and regenerated.
    fn failover_framework(
        &mut self,
        id: &FrameworkId,
        mut info: FrameworkInfo,
        suppressed: BTreeSet<String>,
        stream: StreamId,
    ) {
        tracing::info!(framework = %id, "framework resubscribed");
        for offer_id in self.offers_of_framework(id) {
            self.recover_offer(&offer_id, None);
        }
        let old = self.frameworks.get_mut(id).and_then(|f| f.stream.take());
        let was_active = old.is_some();
        if let Some(old) = old {
            self.effect(Effect::Event {
                stream: old,
                event: Event::error("Framework failed over"),
            });
            self.effect(Effect::CloseStream { stream: old });
        }
        let Some(framework) = self.frameworks.get_mut(id) else {
            return;
        };
        info.id = Some(id.clone());
        framework.info = info;
        framework.stream = Some(stream);
        framework.disconnected_ms = None;
        framework.recovered = false;
        let previous = std::mem::replace(&mut framework.suppressed_roles, suppressed.clone());
        let snapshot = framework.snapshot();
        self.allocator(AllocatorEvent::UpdateFramework(snapshot));
        if !was_active {
            self.allocator(AllocatorEvent::ActivateFramework(id.value.clone()));
        }
        let revive: Vec<String> = previous.difference(&suppressed).cloned().collect();
        let suppress: Vec<String> = suppressed.difference(&previous).cloned().collect();
        if !revive.is_empty() {
            self.allocator(AllocatorEvent::Revive(id.value.clone(), revive));
        }
        if !suppress.is_empty() {
            self.allocator(AllocatorEvent::Suppress(id.value.clone(), suppress));
        }
        self.framework_event(FrameworkChange::Updated, id);
    }

    /// A framework's subscription stream closed. A stale stream (already replaced) changes
    /// nothing. Otherwise the framework is deactivated, its offers go back, and its failover
    /// timer starts (a timeout of 0 removes it at once).
    pub fn framework_stream_closed(&mut self, now_ms: u64, stream: StreamId) {
        let Some(id) = self
            .frameworks
            .values()
            .find(|f| f.stream == Some(stream))
            .map(|f| f.id())
        else {
            return;
        };
        tracing::info!(framework = %id, "framework disconnected");
        if let Some(framework) = self.frameworks.get_mut(&id) {
            framework.stream = None;
            framework.disconnected_ms = Some(now_ms);
        }
        self.allocator(AllocatorEvent::DeactivateFramework(id.value.clone()));
        for offer_id in self.offers_of_framework(&id) {
            self.recover_offer(&offer_id, None);
        }
        self.framework_event(FrameworkChange::Updated, &id);
        if self.failover_timeout_ms(&id) == Some(0) {
            self.remove_framework(now_ms, &id, "its failover timeout is 0");
        }
    }

    fn failover_timeout_ms(&self, id: &FrameworkId) -> Option<u64> {
        let framework = self.frameworks.get(id)?;
        let seconds = framework.info.failover_timeout.unwrap_or(0.0);
        let ms = if seconds.is_finite() && seconds > 0.0 {
            (seconds * 1000.0) as u64
        } else {
            0
        };
        Some(if framework.recovered && ms == 0 {
            RECOVERED_FRAMEWORK_GRACE_MS
        } else {
            ms
        })
    }

    /// Timers: removes frameworks whose failover timeout has passed.
    pub fn tick(&mut self, now_ms: u64) {
        let expired: Vec<FrameworkId> = self
            .frameworks
            .values()
            .filter(|f| !f.connected())
            .filter_map(|f| {
                let since = f.disconnected_ms?;
                let timeout = self.failover_timeout_ms(&f.id())?;
                (now_ms >= since.saturating_add(timeout)).then(|| f.id())
            })
            .collect();
        for id in expired {
            self.remove_framework(now_ms, &id, "its failover timeout expired");
        }
    }

    /// Removes a framework for good: its offers go back, its tasks are killed on their agents
    /// and recorded as TASK_KILLED, its stream ends, and it moves to completed frameworks.
    pub fn remove_framework(&mut self, now_ms: u64, id: &FrameworkId, why: &str) {
        for offer_id in self.offers_of_framework(id) {
            self.recover_offer(&offer_id, None);
        }
        let Some(framework) = self.frameworks.remove(id) else {
            return;
        };
        tracing::info!(framework = %id, why, "removing framework");
        for (_, mut record) in framework.tasks {
            if let Some(keys) = self.tasks_by_agent.get_mut(&record.task.agent_id) {
                keys.remove(&(id.clone(), record.task.task_id.clone()));
            }
            if !record.task.state.is_terminal() {
                let status = TaskStatus {
                    task_id: record.task.task_id.clone(),
                    state: TaskState::TaskKilled,
                    message: Some(format!("Framework {id} removed: {why}")),
                    source: Some(StatusSource::SourceMaster),
                    reason: Some(reason::FRAMEWORK_REMOVED.to_string()),
                    agent_id: Some(record.task.agent_id.clone()),
                    timestamp: Some(timestamp(now_ms)),
                    ..Default::default()
                };
                record.task.state = TaskState::TaskKilled;
                self.removed_task_updated_event(id, &framework.info, &record.task, &status);
                record.task.statuses.push(status);
            }
            if !record.released {
                self.give_back(&record.task.agent_id, id, &record.resources, None);
            }
            self.remember_completed_task(record.task);
        }
        // As Mesos does: every agent hears it, since one may run the framework's executors
        // after all its tasks ended.
        let agents: Vec<AgentId> = self.agents.keys().cloned().collect();
        for agent_id in agents {
            self.send_command(
                &agent_id,
                AgentCommand::ShutdownFramework {
                    framework_id: id.clone(),
                },
            );
        }
        self.allocator(AllocatorEvent::RemoveFramework(id.value.clone()));
        if let Some(stream) = framework.stream {
            self.effect(Effect::CloseStream { stream });
        }
        self.framework_removed_event(&framework.info);
        self.remember_completed_framework(CompletedFramework {
            info: framework.info,
            registered_ms: framework.registered_ms,
            unregistered_ms: now_ms,
        });
        self.effect(Effect::Persist(vec![delete_framework(id)]));
        self.counters.frameworks_removed += 1;
        self.request_allocation();
    }

    /// A framework known from the registry or from an agent's report, not subscribed: its
    /// failover timer runs from `now_ms`.
    pub fn recover_framework(&mut self, now_ms: u64, mut info: FrameworkInfo) -> bool {
        let Some(id) = info.id.clone() else {
            return false;
        };
        if self.frameworks.contains_key(&id) || self.is_completed_framework(&id) {
            return false;
        }
        info.id = Some(id.clone());
        let framework = Framework {
            info,
            stream: None,
            suppressed_roles: Default::default(),
            tasks: Default::default(),
            registered_ms: now_ms,
            disconnected_ms: Some(now_ms),
            recovered: true,
        };
        self.allocator(AllocatorEvent::AddFramework(framework.snapshot(), false));
        self.frameworks.insert(id.clone(), framework);
        self.framework_event(FrameworkChange::Added, &id);
        true
    }
}

fn validate_framework_info(
    info: &FrameworkInfo,
    call_framework_id: Option<&FrameworkId>,
    suppressed_roles: &[String],
) -> Result<(), CoreError> {
    // An empty or malformed id would reach the allocator, which refuses every answer that
    // names it: no framework would get offers while the stream stays open.
    for id in call_framework_id.into_iter().chain(info.id.as_ref()) {
        validate_id("Framework", &id.value).map_err(|e| CoreError::invalid(e.to_string()))?;
    }
    if let (Some(call_id), Some(info_id)) = (call_framework_id, info.id.as_ref())
        && call_id != info_id
    {
        return Err(CoreError::invalid(
            "'framework_id' differs from 'subscribe.framework_info.id'",
        ));
    }
    let roles = info.effective_roles();
    for role in &roles {
        validate_role(role).map_err(CoreError::Invalid)?;
    }
    if info.roles.len() != info.roles.iter().collect::<BTreeSet<_>>().len() {
        return Err(CoreError::invalid(
            "'FrameworkInfo.roles' contains duplicate items",
        ));
    }
    for role in suppressed_roles {
        if !roles.contains(role) {
            return Err(CoreError::invalid(format!(
                "Suppressed role '{role}' is not contained in the framework's roles"
            )));
        }
    }
    if let Some(timeout) = info.failover_timeout
        && (!timeout.is_finite() || timeout < 0.0)
    {
        return Err(CoreError::invalid(format!(
            "Invalid 'failover_timeout' {timeout}: it must be a non-negative number of seconds"
        )));
    }
    Ok(())
}
