//! ACCEPT: check the offers, plan every operation (`accept_plan.rs`), then carry the plan
//! out: reservations change, each task that passed validation and the launch hooks is
//! launched, the others get TASK_ERROR; what the call leaves unused goes back to the
//! allocator with the call's filter. A plan that waits for launch-hook verdicts changes
//! nothing: the shell runs the hooks outside the core's lock and makes the call again.

use std::collections::BTreeSet;

use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::Resources;
use corral_api::scheduler::{Accept, Event, Operation, OperationType};
use corral_api::v1::{
    AgentId, AllocationInfo, FrameworkId, OfferId, StatusSource, Task, TaskInfo, TaskState,
    TaskStatus, reason,
};

use super::accept_plan::{OperationPlan, TakenOffers, TaskPlan};
use super::core::{MasterCore, TaskRecord, timestamp};
use super::hook_verdicts::{LaunchHookRequest, LaunchHooks};
use super::offers::refuse_until;

impl MasterCore {
    /// ACCEPT with the launch hooks' verdicts in `hooks`. `Err` gives the call back with the
    /// tasks that wait for a verdict: nothing changed, the offers are still outstanding.
    pub(super) fn accept(
        &mut self,
        now_ms: u64,
        framework_id: &FrameworkId,
        accept: Accept,
        hooks: &LaunchHooks,
    ) -> Result<(), (Accept, Vec<LaunchHookRequest>)> {
        if let Err(error) = self.check_offers(framework_id, &accept.offer_ids) {
            self.reject_accept(now_ms, framework_id, &accept, &error);
            return Ok(());
        }
        let Some(framework) = self.frameworks.get(framework_id) else {
            return Ok(());
        };
        let taken = self.offered(&accept.offer_ids);
        let plan = match self.plan_accept(framework, &taken, &accept.operations, hooks) {
            Ok(plan) => plan,
            Err(awaiting) => return Err((accept, awaiting)),
        };
        for id in &accept.offer_ids {
            self.offers.remove(id);
        }
        for (operation, planned) in accept.operations.into_iter().zip(plan.operations) {
            self.carry_out(now_ms, framework_id, &taken, operation, planned);
        }
        let refuse = refuse_until(now_ms, accept.filters.as_ref());
        self.give_back(&taken.agent_id, framework_id, &plan.remaining, refuse);
        Ok(())
    }

    fn carry_out(
        &mut self,
        now_ms: u64,
        framework_id: &FrameworkId,
        taken: &TakenOffers,
        operation: Operation,
        planned: OperationPlan,
    ) {
        match planned {
            OperationPlan::Reservation { plan, reserve } => {
                self.apply_offer_reservation(framework_id, &taken.agent_id, &plan, reserve);
            }
            OperationPlan::Dropped(message) => {
                tracing::info!(framework = %framework_id, operation = ?operation.kind,
                    %message, "dropping an invalid offer operation");
            }
            OperationPlan::Unsupported => {
                tracing::info!(framework = %framework_id, operation = ?operation.kind,
                    "ignoring an offer operation that is not supported yet");
            }
            OperationPlan::Launch(plans) => {
                let tasks = operation.launch.map(|l| l.task_infos).unwrap_or_default();
                for (task, planned) in tasks.into_iter().zip(plans) {
                    self.carry_out_task(now_ms, framework_id, &taken.role, task, planned);
                }
            }
        }
    }

    fn carry_out_task(
        &mut self,
        now_ms: u64,
        framework_id: &FrameworkId,
        role: &str,
        task: TaskInfo,
        planned: TaskPlan,
    ) {
        match planned {
            TaskPlan::Launch {
                resources,
                decorated,
            } => {
                let task = decorated.map_or(task, |decorated| *decorated);
                self.launch(framework_id, task, role, resources);
            }
            TaskPlan::Denied(message) => {
                tracing::info!(framework = %framework_id, task = %task.task_id, %message,
                    "a hook or the authorizer refused the task");
                let why = reason::TASK_UNAUTHORIZED;
                let status = master_status(now_ms, &task, TaskState::TaskError, why, message);
                self.send_event(framework_id, Event::update(status));
            }
            TaskPlan::Invalid(message) => {
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

    /// Sums checked offers (they stay outstanding).
    fn offered(&self, offer_ids: &[OfferId]) -> TakenOffers {
        let mut taken = TakenOffers {
            agent_id: AgentId::default(),
            role: String::new(),
            resources: Resources::new(),
        };
        for id in offer_ids {
            if let Some(record) = self.offers.get(id) {
                taken.agent_id = record.offer.agent_id.clone();
                taken.role = record.role.clone();
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
            executor_id: info.executor.as_ref().map(|e| e.executor_id.clone()),
            agent_id: info.agent_id.clone(),
            state: TaskState::TaskStaging,
            resources: info.resources.clone(),
            statuses: Vec::new(),
            user: info.user().map(str::to_string),
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
            executor: info.executor.clone().map(|mut e| {
                e.framework_id.get_or_insert_with(|| framework_id.clone());
                e
            }),
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
        self.task_added_event(framework_id, &info.task_id);
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
