//! Events for the operator API's subscribers (`SUBSCRIBE` on `/api/v1`): the core queues
//! them as effects where it applies each change, so they come out in the master's order.
//! They are built only while someone listens (`MasterCore::set_operator_events`).

use std::sync::Arc;

use corral_api::operator_events::OperatorEvent;
use corral_api::v1::{AgentId, FrameworkId, FrameworkInfo, Task, TaskId, TaskState, TaskStatus};

use super::core::MasterCore;
use super::effects::{Effect, OperatorUpdate, TaskOwner};

/// Which framework change an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameworkChange {
    Added,
    Updated,
}

impl MasterCore {
    fn operator_event(&mut self, build: impl FnOnce(&Self) -> Option<OperatorEvent>) {
        self.owned_operator_event(|core| build(core).map(OperatorUpdate::unowned));
    }

    fn owned_operator_event(&mut self, build: impl FnOnce(&Self) -> Option<OperatorUpdate>) {
        if !self.operator_events() {
            return;
        }
        if let Some(update) = build(self) {
            self.effect(Effect::Operator(Arc::new(update)));
        }
    }

    /// TASK_ADDED for a task the master now holds.
    pub(super) fn task_added_event(&mut self, framework_id: &FrameworkId, task_id: &TaskId) {
        self.owned_operator_event(|core| {
            let framework = core.frameworks.get(framework_id)?;
            let task = &framework.tasks.get(task_id)?.task;
            Some(OperatorUpdate {
                event: OperatorEvent::task_added(task.clone()),
                owner: Some(task_owner(&framework.info, task)),
            })
        });
    }

    /// TASK_UPDATED: the update, and the task's state after it.
    pub(super) fn task_updated_event(
        &mut self,
        framework_id: &FrameworkId,
        status: &TaskStatus,
        state: TaskState,
    ) {
        self.owned_operator_event(|core| {
            let owner = core.frameworks.get(framework_id).and_then(|framework| {
                let record = framework.tasks.get(&status.task_id)?;
                Some(task_owner(&framework.info, &record.task))
            });
            Some(OperatorUpdate {
                event: OperatorEvent::task_updated(framework_id.clone(), status.clone(), state),
                owner,
            })
        });
    }

    /// TASK_UPDATED for a task of a framework being removed (no longer in the core).
    pub(super) fn removed_task_updated_event(
        &mut self,
        framework_id: &FrameworkId,
        framework: &FrameworkInfo,
        task: &Task,
        status: &TaskStatus,
    ) {
        self.owned_operator_event(|_| {
            Some(OperatorUpdate {
                event: OperatorEvent::task_updated(
                    framework_id.clone(),
                    status.clone(),
                    task.state,
                ),
                owner: Some(task_owner(framework, task)),
            })
        });
    }

    /// FRAMEWORK_ADDED or FRAMEWORK_UPDATED, with the framework as GET_FRAMEWORKS shows it.
    pub(super) fn framework_event(&mut self, change: FrameworkChange, id: &FrameworkId) {
        self.operator_event(|core| {
            let entry = core.framework_entry(core.frameworks.get(id)?);
            Some(match change {
                FrameworkChange::Added => OperatorEvent::framework_added(entry),
                FrameworkChange::Updated => OperatorEvent::framework_updated(entry),
            })
        });
    }

    pub(super) fn framework_removed_event(&mut self, info: &FrameworkInfo) {
        self.operator_event(|_| Some(OperatorEvent::framework_removed(info.clone())));
    }

    /// AGENT_ADDED (registered or re-registered), as GET_AGENTS shows it.
    pub(super) fn agent_added_event(&mut self, id: &AgentId) {
        self.operator_event(|core| {
            let agent = core.agents.get(id)?;
            Some(OperatorEvent::agent_added(core.agent_entry(agent)))
        });
    }

    /// AGENT_REMOVED: gone, or unreachable.
    pub(super) fn agent_removed_event(&mut self, id: &AgentId) {
        self.operator_event(|_| Some(OperatorEvent::agent_removed(id.clone())));
    }
}

/// The users the view ACLs decide a task's events on: its framework's, and its own (Mesos'
/// local authorizer: `Task.user`, else the framework's).
fn task_owner(framework: &FrameworkInfo, task: &Task) -> TaskOwner {
    TaskOwner {
        framework_user: framework.user.clone(),
        task_user: task.user.clone().unwrap_or_else(|| framework.user.clone()),
    }
}
