//! ACCEPT: check the offers, then launch each task that passes validation; what the call
//! leaves unused goes back to the allocator with the call's filter.

use std::collections::BTreeSet;

use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::Resources;
use corral_api::scheduler::{Accept, Event, OperationType};
use corral_api::v1::{
    AgentId, AllocationInfo, FrameworkId, OfferId, StatusSource, Task, TaskId, TaskInfo, TaskState,
    TaskStatus, reason,
};

use super::core::{MasterCore, TaskRecord, timestamp};
use super::offers::refuse_until;
use super::task_validation::validate_task;

/// The offers of one ACCEPT, taken out of the outstanding set.
struct TakenOffers {
    agent_id: AgentId,
    role: String,
    resources: Resources,
}

impl MasterCore {
    pub(super) fn accept(&mut self, now_ms: u64, framework_id: &FrameworkId, accept: Accept) {
        let taken = match self.check_offers(framework_id, &accept.offer_ids) {
            Ok(()) => self.take_offers(&accept.offer_ids),
            Err(error) => {
                self.reject_accept(now_ms, framework_id, &accept, &error);
                return;
            }
        };
        let mut remaining = taken.resources.clone();
        let mut ids_in_call: BTreeSet<TaskId> = BTreeSet::new();
        for operation in accept.operations {
            if matches!(
                operation.kind,
                OperationType::Reserve | OperationType::Unreserve
            ) {
                let reserve = operation.kind == OperationType::Reserve;
                let op = if reserve {
                    operation.reserve
                } else {
                    operation.unreserve
                };
                let resources = op.map(|o| o.resources).unwrap_or_default();
                if let Err(message) = self.offer_reservation(
                    framework_id,
                    &taken.agent_id,
                    &taken.role,
                    &resources,
                    reserve,
                    &mut remaining,
                ) {
                    tracing::info!(framework = %framework_id, operation = ?operation.kind,
                        %message, "dropping an invalid offer operation");
                }
                continue;
            }
            if operation.kind != OperationType::Launch {
                tracing::info!(framework = %framework_id, operation = ?operation.kind,
                    "ignoring an offer operation that is not supported yet");
                continue;
            }
            let tasks = operation.launch.map(|l| l.task_infos).unwrap_or_default();
            for mut task in tasks {
                let Some(framework) = self.frameworks.get(framework_id) else {
                    return;
                };
                let duplicate = framework.tasks.contains_key(&task.task_id)
                    || ids_in_call.contains(&task.task_id);
                ids_in_call.insert(task.task_id.clone());
                match validate_task(&task, duplicate, &taken.agent_id, &taken.role, &remaining) {
                    Ok(resources) => {
                        // Hooks (issue 6): decorate the task, or deny it with TASK_ERROR.
                        if let Err(message) =
                            self.launch_hooks(framework_id, &mut task, &taken.role)
                        {
                            let why = reason::TASK_UNAUTHORIZED;
                            let status =
                                master_status(now_ms, &task, TaskState::TaskError, why, message);
                            self.send_event(framework_id, Event::update(status));
                            continue;
                        }
                        remaining.subtract_all(&resources);
                        self.launch(framework_id, task, &taken.role, resources);
                    }
                    Err(message) => {
                        tracing::info!(framework = %framework_id, task = %task.task_id,
                            %message, "refusing an invalid task");
                        self.counters.tasks_invalid += 1;
                        let status = master_status(
                            now_ms,
                            &task,
                            TaskState::TaskError,
                            reason::TASK_INVALID,
                            message,
                        );
                        self.send_event(framework_id, Event::update(status));
                    }
                }
            }
        }
        let refuse = refuse_until(now_ms, accept.filters.as_ref());
        self.give_back(&taken.agent_id, framework_id, &remaining, refuse);
    }

    /// The offers of an ACCEPT must all exist, be this framework's, and share one agent and
    /// one role.
    fn check_offers(
        &self,
        framework_id: &FrameworkId,
        offer_ids: &[OfferId],
    ) -> Result<(), String> {
        if offer_ids.is_empty() {
            return Err("No offers specified".into());
        }
        let mut seen = BTreeSet::new();
        let mut agent_and_role = None;
        for id in offer_ids {
            if !seen.insert(id) {
                return Err(format!("Duplicate offer {id} in the call"));
            }
            let Some(record) = self.offers.get(id) else {
                return Err(format!("Offer {id} is no longer valid"));
            };
            if &record.offer.framework_id != framework_id {
                return Err(format!(
                    "Offer {id} has invalid framework {} while framework {framework_id} is expected",
                    record.offer.framework_id
                ));
            }
            let this = (&record.offer.agent_id, &record.role);
            match agent_and_role {
                None => agent_and_role = Some(this),
                Some((agent, _)) if agent != this.0 => {
                    return Err("Aggregated offers must belong to one single agent".into());
                }
                Some((_, role)) if role != this.1 => {
                    return Err("Aggregated offers must be allocated to the same role".into());
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Removes checked offers from the outstanding set and sums them.
    fn take_offers(&mut self, offer_ids: &[OfferId]) -> TakenOffers {
        let mut taken = TakenOffers {
            agent_id: AgentId::default(),
            role: String::new(),
            resources: Resources::new(),
        };
        for id in offer_ids {
            if let Some(record) = self.offers.remove(id) {
                taken.agent_id = record.offer.agent_id;
                taken.role = record.role;
                taken.resources.add_all(&record.resources);
            }
        }
        taken
    }

    /// An ACCEPT with bad offers launches nothing: every task is dropped (TASK_LOST for
    /// frameworks that are not partition-aware) and the framework's valid offers go back.
    fn reject_accept(
        &mut self,
        now_ms: u64,
        framework_id: &FrameworkId,
        accept: &Accept,
        error: &str,
    ) {
        tracing::info!(framework = %framework_id, %error, "ACCEPT with invalid offers");
        for id in &accept.offer_ids {
            if self
                .offers
                .get(id)
                .is_some_and(|o| &o.offer.framework_id == framework_id)
            {
                self.recover_offer(id, None);
            }
        }
        let state = match self.frameworks.get(framework_id) {
            Some(f) if f.partition_aware() => TaskState::TaskDropped,
            _ => TaskState::TaskLost,
        };
        let message = format!("Task launched with invalid offers: {error}");
        let tasks = accept
            .operations
            .iter()
            .filter(|op| op.kind == OperationType::Launch)
            .filter_map(|op| op.launch.as_ref())
            .flat_map(|l| l.task_infos.iter());
        let statuses: Vec<TaskStatus> = tasks
            .map(|task| master_status(now_ms, task, state, reason::INVALID_OFFERS, message.clone()))
            .collect();
        for status in statuses {
            self.send_event(framework_id, Event::update(status));
        }
    }

    /// A valid task: recorded as TASK_STAGING with its resources used, and sent to its agent.
    fn launch(
        &mut self,
        framework_id: &FrameworkId,
        mut info: TaskInfo,
        role: &str,
        resources: Resources,
    ) {
        for r in &mut info.resources {
            r.allocation_info.get_or_insert_with(|| AllocationInfo {
                role: Some(role.to_string()),
            });
        }
        let Some(framework) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        let task = Task {
            name: info.name.clone(),
            task_id: info.task_id.clone(),
            framework_id: framework_id.clone(),
            executor_id: None,
            agent_id: info.agent_id.clone(),
            state: TaskState::TaskStaging,
            resources: info.resources.clone(),
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            labels: info.labels.clone(),
            discovery: info.discovery.clone(),
            container: info.container.clone(),
            health_check: info.health_check.clone(),
            kill_policy: info.kill_policy.clone(),
        };
        let record = TaskRecord {
            task,
            role: role.to_string(),
            resources,
            released: false,
        };
        framework.tasks.insert(info.task_id.clone(), record);
        self.tasks_by_agent
            .entry(info.agent_id.clone())
            .or_default()
            .insert((framework_id.clone(), info.task_id.clone()));
        let framework_info = framework.info.clone();
        let agent_id = info.agent_id.clone();
        tracing::info!(framework = %framework_id, task = %info.task_id, agent = %agent_id,
            "launching task");
        self.counters.tasks_launched += 1;
        let command = AgentCommand::RunTask {
            framework: Box::new(framework_info),
            task: Box::new(info),
        };
        if !self.send_command(&agent_id, command) {
            tracing::warn!(agent = %agent_id, "agent disconnected between offer and launch");
        }
    }
}

/// An update the master generates for a task it did not launch (no uuid: not acknowledged).
fn master_status(
    now_ms: u64,
    task: &TaskInfo,
    state: TaskState,
    why: &str,
    message: String,
) -> TaskStatus {
    TaskStatus {
        task_id: task.task_id.clone(),
        state,
        message: Some(message),
        source: Some(StatusSource::SourceMaster),
        reason: Some(why.to_string()),
        agent_id: Some(task.agent_id.clone()),
        timestamp: Some(timestamp(now_ms)),
        ..Default::default()
    }
}
