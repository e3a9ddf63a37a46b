//! [`World`]: everything the services component knows — apps, tasks, deployments, launch
//! delays, last failures — and how a task status update changes it. No I/O: the driver
//! persists what these functions say changed.

use std::collections::BTreeMap;

use corral_api::v1::{TaskState, TaskStatus};

use crate::deployments::{Action, Deployment, progress};
use crate::groups::GroupRecord;
use crate::health::readiness::Readiness;
use crate::health::state::Health;
use crate::model::App;
use crate::scheduler::backoff::Delay;
use crate::scheduler::offer_stats::OfferStats;
use crate::tasks::TaskRecord;
use crate::tasks::json::TaskFailure;
use crate::time::Timestamp;

#[derive(Debug, Default)]
pub struct World {
    /// By app id (`/shop/web`).
    pub apps: BTreeMap<String, App>,
    /// By task id.
    pub tasks: BTreeMap<String, TaskRecord>,
    /// By deployment id.
    pub deployments: BTreeMap<String, Deployment>,
    /// Launch delays after failures, by app id.
    pub delays: BTreeMap<String, Delay>,
    /// The last unexpected task end, by app id.
    pub failures: BTreeMap<String, TaskFailure>,
    /// The app version of the last task killed for failing its health checks, by app id
    /// (a canary killed so fails its canary, as one that exits does).
    pub unhealthy_kills: BTreeMap<String, Timestamp>,
    /// Health check results by task id, one per health check of the task's app (kept in
    /// memory: a new leader checks again).
    pub health: BTreeMap<String, Vec<Health>>,
    /// Readiness check results by task id.
    pub readiness: BTreeMap<String, Readiness>,
    /// Groups created through `/v2/groups`, by id.
    pub groups: BTreeMap<String, GroupRecord>,
    /// How offers went for each app waiting for tasks (`/v2/queue`).
    pub offer_stats: BTreeMap<String, OfferStats>,
}

/// What a status update did.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusEffect {
    /// The task's record changed: store it.
    Updated(TaskRecord),
    /// The task ended: delete its record. `unexpected` when Corral neither asked for it nor
    /// deleted the app (the app is then delayed and the failure recorded).
    Ended {
        record: TaskRecord,
        unexpected: bool,
    },
    /// A live task Corral has no record of (left from a deleted app, or expunged): kill it.
    KillUnknown,
    /// Nothing to do (a repeated state, or the end of a task Corral already forgot).
    Nothing,
}

impl World {
    /// The tasks of one app.
    pub fn tasks_of<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a TaskRecord> + 'a {
        self.tasks.values().filter(move |t| t.app_id == app_id)
    }

    /// Takes in one status update at `now_ms`.
    pub fn apply_status(&mut self, status: &TaskStatus, now_ms: u64) -> StatusEffect {
        let id = status.task_id.value.as_str();
        let ended = has_ended(status.state);
        let Some(record) = self.tasks.get_mut(id) else {
            return if ended {
                StatusEffect::Nothing
            } else {
                StatusEffect::KillUnknown
            };
        };
        if !ended {
            let before = record.clone();
            record.observe(status, now_ms);
            if let Some(healthy) = status.healthy {
                self.mesos_health_reported(id, healthy, status.message.as_deref(), now_ms);
            }
            let Some(record) = self.tasks.get(id) else {
                return StatusEffect::Nothing;
            };
            return if *record == before {
                StatusEffect::Nothing
            } else {
                StatusEffect::Updated(record.clone())
            };
        }
        let Some(mut record) = self.tasks.remove(id) else {
            return StatusEffect::Nothing;
        };
        self.health.remove(id);
        self.readiness.remove(id);
        record.state = status.state;
        let app = self.apps.get(&record.app_id);
        let unexpected = app.is_some() && !record.kill_requested();
        if let (true, Some(app)) = (unexpected, app) {
            let delay = match self.delays.get(&app.id) {
                Some(delay) if delay.applies_to(app) => delay.increased(app, now_ms),
                _ => Delay::first(app, now_ms),
            };
            self.delays.insert(app.id.clone(), delay);
            self.failures.insert(
                app.id.clone(),
                TaskFailure {
                    app_id: record.app_id.clone(),
                    host: record.host.clone(),
                    message: status.message.clone().unwrap_or_default(),
                    state: status.state.as_str().to_string(),
                    task_id: record.id.clone(),
                    timestamp: Timestamp(now_ms),
                    version: record.version,
                    slave_id: Some(record.agent_id.clone()),
                },
            );
        }
        StatusEffect::Ended { record, unexpected }
    }

    /// Whether a deployment's changes have all taken effect: every action of every step.
    pub fn deployment_done(&self, deployment: &Deployment) -> bool {
        deployment
            .steps
            .iter()
            .flatten()
            .all(|action| progress::action_done(self, action, deployment.version))
    }

    /// An existing app runs exactly `instances` tasks of its current configuration, all
    /// running, healthy and ready; a deleted one has none left.
    pub fn app_settled(&self, app_id: &str) -> bool {
        let action = Action {
            action: crate::deployments::RESTART.to_string(),
            app: app_id.to_string(),
        };
        progress::action_done(self, &action, Timestamp(0))
    }

    /// The whole group tree, apps in their definitions' form.
    pub fn root_group_json(&self) -> serde_json::Value {
        crate::groups::json::root_json(&self.apps, &self.groups)
    }

    /// Deployments that lock `app_id`.
    pub fn deployments_of(&self, app_id: &str) -> Vec<String> {
        self.deployments
            .values()
            .filter(|d| d.affects(app_id))
            .map(|d| d.id.clone())
            .collect()
    }

    /// Staged (staging or starting) and running task counts of an app.
    pub fn counts(&self, app_id: &str) -> (usize, usize) {
        let mut staged = 0;
        let mut running = 0;
        for task in self.tasks_of(app_id) {
            if task.is_staging() {
                staged += 1;
            } else if task.state == TaskState::TaskRunning {
                running += 1;
            }
        }
        (staged, running)
    }
}

/// Whether a task in `state` is gone for good: a terminal state, or TASK_UNKNOWN (the master
/// answers that to a partition-aware framework for a task it has no record of).
fn has_ended(state: TaskState) -> bool {
    state.is_terminal() || state == TaskState::TaskUnknown
}

#[cfg(test)]
#[path = "world_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "world_health_tests.rs"]
mod health_tests;
