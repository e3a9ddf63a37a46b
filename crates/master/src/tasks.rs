//! Tasks after launch: status updates from agents, acknowledgements, kills, reconciliation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::core::{MAX_STATUSES_PER_TASK, MasterCore, timestamp};
use super::core_error::CoreError;
use corral_api::agent_protocol::{AgentCommand, StatusUpdateMessage};
use corral_api::scheduler::{Acknowledge, Event, Kill, Reconcile};
use corral_api::v1::{
    AgentId, FrameworkId, StatusSource, Task, TaskId, TaskState, TaskStatus, reason,
};

impl MasterCore {
    /// A status update from an agent (`POST .../agent/update`). It is forwarded to the
    /// framework; a terminal one frees the task's resources (once). An update for a framework
    /// the master no longer has is acknowledged at once so the agent stops resending it.
    pub fn status_update(&mut self, message: StatusUpdateMessage) -> Result<(), CoreError> {
        let agent_id = message.agent_id;
        if !self.agents.contains_key(&agent_id) {
            return Err(CoreError::invalid(format!(
                "Unknown agent {agent_id}: an agent must register before it sends status updates"
            )));
        }
        let framework_id = message.framework_id;
        let mut status = message.status;
        status.agent_id.get_or_insert_with(|| agent_id.clone());
        let task_id = status.task_id.clone();
        let Some(framework) = self.frameworks.get_mut(&framework_id) else {
            tracing::info!(framework = %framework_id, task = %task_id,
                "acknowledging an update for an unknown framework");
            if let Some(uuid) = status.uuid {
                self.send_command(
                    &agent_id,
                    AgentCommand::Acknowledge {
                        framework_id,
                        task_id,
                        uuid,
                    },
                );
            }
            return Ok(());
        };
        let Some(record) = framework.tasks.get_mut(&task_id) else {
            // A resend of an update whose acknowledgement was lost, or a task this master
            // never saw: the framework decides, and its acknowledgement is relayed.
            tracing::info!(framework = %framework_id, task = %task_id,
                "forwarding an update for a task that is not active");
            self.send_event(&framework_id, Event::update(status));
            return Ok(());
        };
        let resend = status.uuid.is_some() && record.task.status_update_uuid == status.uuid;
        let mut freed = None;
        let mut changed = None;
        if !resend {
            record.task.state = status.state;
            if status.uuid.is_some() {
                record.task.status_update_state = Some(status.state);
                record.task.status_update_uuid = status.uuid.clone();
            }
            push_status(&mut record.task, status.clone());
            if status.state.is_terminal() && !record.released {
                record.released = true;
                freed = Some((record.task.agent_id.clone(), record.resources.clone()));
            }
            changed = Some(record.task.state);
        }
        if let Some(state) = changed {
            self.task_updated_event(&framework_id, &status, state);
        }
        if let Some((task_agent, resources)) = freed {
            self.give_back(&task_agent, &framework_id, &resources, None);
        }
        let terminal_without_ack = status.uuid.is_none() && status.state.is_terminal();
        self.send_event(&framework_id, Event::update(status));
        if terminal_without_ack {
            self.complete_task(&framework_id, &task_id);
        }
        Ok(())
    }

    /// ACKNOWLEDGE: relayed to the agent when it matches the task's latest update (or the task
    /// is no longer active: the agent knows which updates it still holds). A task whose
    /// terminal update is acknowledged moves to completed tasks.
    pub(super) fn acknowledge(
        &mut self,
        framework_id: &FrameworkId,
        ack: Acknowledge,
    ) -> Result<(), CoreError> {
        let uuid = decode_uuid(&ack.uuid)?;
        let Some(framework) = self.frameworks.get_mut(framework_id) else {
            return Ok(());
        };
        let Some(record) = framework.tasks.get_mut(&ack.task_id) else {
            self.send_command(
                &ack.agent_id,
                AgentCommand::Acknowledge {
                    framework_id: framework_id.clone(),
                    task_id: ack.task_id,
                    uuid: ack.uuid,
                },
            );
            return Ok(());
        };
        let matches_latest = record
            .task
            .status_update_uuid
            .as_deref()
            .is_some_and(|latest| {
                latest == ack.uuid || decode_uuid(latest).is_ok_and(|bytes| bytes == uuid)
            });
        if !matches_latest {
            tracing::info!(framework = %framework_id, task = %ack.task_id,
                "ignoring an acknowledgement that is not for the task's latest update");
            return Ok(());
        }
        let agent_id = record.task.agent_id.clone();
        let terminal = record
            .task
            .status_update_state
            .is_some_and(TaskState::is_terminal);
        let command = AgentCommand::Acknowledge {
            framework_id: framework_id.clone(),
            task_id: ack.task_id.clone(),
            uuid: record.task.status_update_uuid.clone().unwrap_or(ack.uuid),
        };
        if !self.send_command(&agent_id, command) {
            tracing::info!(agent = %agent_id, "agent disconnected: it resends the update later");
        }
        if terminal {
            self.complete_task(framework_id, &ack.task_id);
        }
        Ok(())
    }

    /// KILL: a live task is killed by its agent; for a task the master does not know, the
    /// framework gets its reconciled state (TASK_LOST or TASK_UNKNOWN when unknown).
    pub(super) fn kill(&mut self, now_ms: u64, framework_id: &FrameworkId, kill: Kill) {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return;
        };
        match framework.tasks.get(&kill.task_id) {
            Some(record) if !record.task.state.is_terminal() => {
                let agent_id = record.task.agent_id.clone();
                let command = AgentCommand::KillTask {
                    framework_id: framework_id.clone(),
                    task_id: kill.task_id.clone(),
                    kill_policy: kill.kill_policy.or_else(|| record.task.kill_policy.clone()),
                };
                if !self.send_command(&agent_id, command) {
                    tracing::warn!(task = %kill.task_id, agent = %agent_id,
                        "cannot kill a task on a disconnected agent; retry after it reconnects");
                }
            }
            Some(_) => {
                tracing::info!(task = %kill.task_id, "not killing a task that already ended");
            }
            None => {
                let status = self.reconciled_status(
                    now_ms,
                    framework_id,
                    &kill.task_id,
                    kill.agent_id.as_ref(),
                );
                self.send_event(framework_id, Event::update(status));
            }
        }
    }

    /// RECONCILE: explicit (the listed tasks) or implicit (every active task).
    pub(super) fn reconcile(&mut self, now_ms: u64, framework_id: &FrameworkId, call: Reconcile) {
        let statuses: Vec<TaskStatus> = if call.tasks.is_empty() {
            let ids: Vec<TaskId> = self
                .frameworks
                .get(framework_id)
                .map(|f| f.tasks.keys().cloned().collect())
                .unwrap_or_default();
            ids.iter()
                .map(|id| self.reconciled_status(now_ms, framework_id, id, None))
                .collect()
        } else {
            call.tasks
                .iter()
                .map(|t| {
                    self.reconciled_status(now_ms, framework_id, &t.task_id, t.agent_id.as_ref())
                })
                .collect()
        };
        for status in statuses {
            self.send_event(framework_id, Event::update(status));
        }
    }

    /// The latest state of a task, as reconciliation reports it (no uuid: not acknowledged).
    fn reconciled_status(
        &self,
        now_ms: u64,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        agent_hint: Option<&AgentId>,
    ) -> TaskStatus {
        let known: Option<&Task> = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(task_id))
            .map(|r| &r.task)
            .or_else(|| {
                self.completed_tasks
                    .iter()
                    .rev()
                    .find(|t| &t.framework_id == framework_id && &t.task_id == task_id)
            });
        let mut status = TaskStatus {
            task_id: task_id.clone(),
            source: Some(StatusSource::SourceMaster),
            reason: Some(reason::RECONCILIATION.to_string()),
            timestamp: Some(timestamp(now_ms)),
            ..Default::default()
        };
        match known {
            Some(task) => {
                status.state = task.state;
                status.message = Some("Reconciliation: Latest task state".into());
                status.agent_id = Some(task.agent_id.clone());
                if let Some(latest) = task.statuses.last() {
                    status.healthy = latest.healthy;
                    status.labels = latest.labels.clone();
                    status.container_status = latest.container_status.clone();
                }
            }
            None => {
                let partition_aware = self
                    .frameworks
                    .get(framework_id)
                    .is_some_and(|f| f.partition_aware());
                status.state = if partition_aware {
                    TaskState::TaskUnknown
                } else {
                    TaskState::TaskLost
                };
                status.message = Some("Reconciliation: Task is unknown".into());
                status.agent_id = agent_hint.cloned();
            }
        }
        status
    }

    /// A state change the master itself decides (the framework gets it without a uuid, so a
    /// terminal one completes the task at once). With `recover`, freed resources go back to
    /// the allocator; without, they are only marked released.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn master_update(
        &mut self,
        now_ms: u64,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        why: &str,
        message: &str,
        recover: bool,
    ) {
        let Some(record) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.get_mut(task_id))
        else {
            return;
        };
        let status = TaskStatus {
            task_id: task_id.clone(),
            state,
            message: Some(message.to_string()),
            source: Some(StatusSource::SourceMaster),
            reason: Some(why.to_string()),
            agent_id: Some(record.task.agent_id.clone()),
            timestamp: Some(timestamp(now_ms)),
            ..Default::default()
        };
        record.task.state = state;
        push_status(&mut record.task, status.clone());
        let mut freed = None;
        if state.is_terminal() && !record.released {
            record.released = true;
            freed = Some((record.task.agent_id.clone(), record.resources.clone()));
        }
        self.task_updated_event(framework_id, &status, state);
        if let Some((agent_id, resources)) = freed
            && recover
        {
            self.give_back(&agent_id, framework_id, &resources, None);
        }
        self.send_event(framework_id, Event::update(status));
        if state.is_terminal() {
            self.complete_task(framework_id, task_id);
        }
    }

    /// Moves a task from its framework's active tasks to completed tasks.
    pub(super) fn complete_task(&mut self, framework_id: &FrameworkId, task_id: &TaskId) {
        let record = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.remove(task_id));
        if let Some(record) = record {
            if let Some(keys) = self.tasks_by_agent.get_mut(&record.task.agent_id) {
                keys.remove(&(framework_id.clone(), task_id.clone()));
            }
            self.remember_completed_task(record.task);
        }
    }
}

fn push_status(task: &mut Task, status: TaskStatus) {
    task.statuses.push(status);
    if task.statuses.len() > MAX_STATUSES_PER_TASK {
        let excess = task.statuses.len() - MAX_STATUSES_PER_TASK;
        task.statuses.drain(..excess);
    }
}

/// An update's uuid as the API carries it: base64 of 16 bytes.
fn decode_uuid(text: &str) -> Result<Vec<u8>, CoreError> {
    let bytes = BASE64.decode(text.trim()).map_err(|e| {
        CoreError::invalid(format!(
            "Failed to parse 'acknowledge.uuid' '{text}': not base64: {e}"
        ))
    })?;
    if bytes.len() != 16 {
        return Err(CoreError::invalid(format!(
            "Failed to parse 'acknowledge.uuid' '{text}': a UUID is 16 bytes, this is {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}
