//! ACCEPT decided before anything changes: each operation's outcome in order (a checked
//! (un)reservation, a task to launch or to refuse), worked out on copies of what the call
//! changes as it goes (what is left of the offers, the agent's reservations, the task ids
//! used). `accept.rs` carries a plan out. A valid task with no launch-hook verdict yet makes
//! the plan wait: the tasks that need one are listed, and nothing is carried out.

use std::collections::BTreeSet;

use corral_api::resources::Resources;
use corral_api::scheduler::{Operation, OperationType};
use corral_api::v1::{AgentId, TaskId, TaskInfo};
use corral_plugin_host::allocator::FrameworkSnapshot;

use super::core::{Framework, MasterCore};
use super::hook_verdicts::{LaunchHookRequest, LaunchHookVerdict, LaunchHooks};
use super::reservation_plan::{ReservationPlan, apply_to_held};
use super::task_validation::validate_task;

/// The offers of one ACCEPT, summed (all on one agent, for one role).
pub struct TakenOffers {
    pub agent_id: AgentId,
    pub role: String,
    pub resources: Resources,
}

/// What one operation of the call does.
pub enum OperationPlan {
    /// A RESERVE (`reserve`) or UNRESERVE that passed its checks.
    Reservation {
        plan: ReservationPlan,
        reserve: bool,
    },
    /// An invalid RESERVE or UNRESERVE, dropped with the reason.
    Dropped(String),
    /// An operation not supported yet, ignored.
    Unsupported,
    /// One plan per task of the LAUNCH, in order.
    Launch(Vec<TaskPlan>),
}

/// What one task of a LAUNCH comes to.
pub enum TaskPlan {
    /// Launch it with these resources, as the hooks decorated it (if they did).
    Launch {
        resources: Resources,
        decorated: Option<Box<TaskInfo>>,
    },
    /// Invalid: TASK_ERROR with the reason.
    Invalid(String),
    /// A hook or the authorizer refused it: TASK_ERROR (REASON_TASK_UNAUTHORIZED) with
    /// this message.
    Denied(String),
}

/// A whole ACCEPT, ready to be carried out.
pub struct AcceptPlan {
    /// One plan per operation of the call, in order.
    pub operations: Vec<OperationPlan>,
    /// What the call leaves of the offers, to go back to the allocator.
    pub remaining: Resources,
}

/// What the plan has worked out so far, operation by operation.
struct Walk {
    remaining: Resources,
    ids_in_call: BTreeSet<TaskId>,
    /// Position of the next LAUNCH task among all of the call's.
    next_index: usize,
    awaiting: Vec<LaunchHookRequest>,
}

impl MasterCore {
    /// Plans `operations` on `taken` for `framework`, with the launch hooks' verdicts in
    /// `hooks`. Without a verdict a valid task is planned as allowed, so the tasks after it
    /// are judged as if it launched: the shell asks the hooks in order and stops at the
    /// first denial, which can change what the tasks after it come to. `Err` lists the
    /// tasks that wait for a verdict, in order.
    pub(super) fn plan_accept(
        &self,
        framework: &Framework,
        taken: &TakenOffers,
        operations: &[Operation],
        hooks: &LaunchHooks,
    ) -> Result<AcceptPlan, Vec<LaunchHookRequest>> {
        let framework_id = framework.id();
        let mut held = self.reservations.get(&taken.agent_id).cloned();
        let mut walk = Walk {
            remaining: taken.resources.clone(),
            ids_in_call: BTreeSet::new(),
            next_index: 0,
            awaiting: Vec::new(),
        };
        let mut planned = Vec::with_capacity(operations.len());
        for operation in operations {
            let plan = match operation.kind {
                OperationType::Reserve | OperationType::Unreserve => {
                    let reserve = operation.kind == OperationType::Reserve;
                    let op = if reserve {
                        operation.reserve.as_ref()
                    } else {
                        operation.unreserve.as_ref()
                    };
                    let resources = op.map_or(&[][..], |o| o.resources.as_slice());
                    let checked = self.check_offer_reservation(
                        &framework_id,
                        &taken.agent_id,
                        &taken.role,
                        resources,
                        reserve,
                        held.as_ref(),
                        &walk.remaining,
                    );
                    match checked {
                        Ok(plan) => {
                            walk.remaining.subtract_all(&plan.from);
                            walk.remaining.add_all(&plan.to);
                            let agent_held = held.get_or_insert_with(Default::default);
                            apply_to_held(agent_held, &plan, reserve);
                            OperationPlan::Reservation { plan, reserve }
                        }
                        Err(message) => OperationPlan::Dropped(message),
                    }
                }
                OperationType::Launch => {
                    let tasks = operation
                        .launch
                        .as_ref()
                        .map_or(&[][..], |l| l.task_infos.as_slice());
                    OperationPlan::Launch(plan_tasks(framework, taken, tasks, hooks, &mut walk))
                }
                _ => OperationPlan::Unsupported,
            };
            planned.push(plan);
        }
        if !walk.awaiting.is_empty() {
            return Err(walk.awaiting);
        }
        Ok(AcceptPlan {
            operations: planned,
            remaining: walk.remaining,
        })
    }
}

/// Plans the tasks of one LAUNCH. A task that waits for a verdict gets no plan (the whole
/// plan then waits).
fn plan_tasks(
    framework: &Framework,
    taken: &TakenOffers,
    tasks: &[TaskInfo],
    hooks: &LaunchHooks,
    walk: &mut Walk,
) -> Vec<TaskPlan> {
    let mut plans = Vec::with_capacity(tasks.len());
    for task in tasks {
        let index = walk.next_index;
        walk.next_index += 1;
        let duplicate =
            framework.tasks.contains_key(&task.task_id) || walk.ids_in_call.contains(&task.task_id);
        walk.ids_in_call.insert(task.task_id.clone());
        let resources = match validate_task(
            task,
            duplicate,
            &taken.agent_id,
            &taken.role,
            &walk.remaining,
        ) {
            Ok(resources) => resources,
            Err(message) => {
                plans.push(TaskPlan::Invalid(message));
                continue;
            }
        };
        // Hooks (issue 6): decorate the task, or deny it with TASK_ERROR.
        let decorated = match hooks {
            LaunchHooks::Off => None,
            LaunchHooks::Verdicts(verdicts) => match verdicts.get(&index) {
                Some(LaunchHookVerdict::Allow(decorated)) => Some(decorated.clone()),
                Some(LaunchHookVerdict::Deny { hook, reason }) => {
                    plans.push(TaskPlan::Denied(format!(
                        "Task denied by hook {hook}: {reason}"
                    )));
                    continue;
                }
                Some(LaunchHookVerdict::Unauthorized(message)) => {
                    plans.push(TaskPlan::Denied(message.clone()));
                    continue;
                }
                None => {
                    walk.awaiting.push(LaunchHookRequest {
                        index,
                        task: task.clone(),
                        framework: hook_view(framework, &taken.role),
                        user: super::authorization::task_user(task, &framework.info.user)
                            .to_string(),
                    });
                    walk.remaining.subtract_all(&resources);
                    continue;
                }
            },
        };
        walk.remaining.subtract_all(&resources);
        plans.push(TaskPlan::Launch {
            resources,
            decorated,
        });
    }
    plans
}

/// The framework as the launch hooks see it: the role the task is launched under first.
fn hook_view(framework: &Framework, role: &str) -> FrameworkSnapshot {
    let mut snapshot = framework.snapshot();
    snapshot.roles.retain(|r| r != role);
    snapshot.roles.insert(0, role.to_string());
    snapshot
}
