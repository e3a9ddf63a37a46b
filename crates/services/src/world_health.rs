//! The world's view of health and readiness: whether a task counts as healthy and ready,
//! the results as the API shows them, and the counts of healthy and unhealthy tasks.

use serde_json::Value;

use crate::health::state::Health;
use crate::model::App;
use crate::tasks::TaskRecord;
use crate::tasks::json::task_json;
use crate::time::Timestamp;
use crate::world::World;

impl World {
    /// Whether `task` of `app` counts as healthy: running and, when the app has health
    /// checks, alive under each (a Mesos-side check as its last report said).
    pub fn is_healthy(&self, app: &App, task: &TaskRecord) -> bool {
        if !task.is_running() {
            return false;
        }
        let results = self.health.get(&task.id);
        app.health_checks.iter().enumerate().all(|(i, check)| {
            if check.is_mesos_check() {
                task.healthy == Some(true)
            } else {
                results.and_then(|r| r.get(i)).is_some_and(Health::alive)
            }
        })
    }

    /// Whether `task` passed the app's readiness checks; a task launched before `since` (by
    /// an earlier deployment) was ready then.
    pub fn is_ready(&self, app: &App, task: &TaskRecord, since: Timestamp) -> bool {
        app.readiness_checks.is_empty()
            || task.staged_at < since
            || self.readiness.get(&task.id).is_some_and(|r| r.ready)
    }

    /// The readiness check results of an app's tasks.
    pub fn readiness_json(&self, app_id: &str) -> Vec<Value> {
        self.tasks_of(app_id)
            .filter_map(|t| self.readiness.get(&t.id))
            .map(|r| r.to_json())
            .collect()
    }

    /// The health results of a task, as `healthCheckResults` shows them.
    pub fn health_json(&self, task: &TaskRecord) -> Vec<Value> {
        let Some(app) = self.apps.get(&task.app_id) else {
            return Vec::new();
        };
        let results = self.health.get(&task.id);
        app.health_checks
            .iter()
            .enumerate()
            .filter_map(|(i, check)| match results.and_then(|r| r.get(i)) {
                Some(health) if health.last_success.is_some() || health.last_failure.is_some() => {
                    Some(health.to_json(&task.id))
                }
                // A Mesos-side check's last report, stored with the task.
                _ if check.is_mesos_check() => task.healthy.map(|healthy| {
                    let mut health = Health::default();
                    health.reported(healthy, None, task.started_at.map_or(0, |t| t.0));
                    health.to_json(&task.id)
                }),
                _ => None,
            })
            .collect()
    }

    /// A task as the API shows it, with its health results.
    pub fn task_json(&self, task: &TaskRecord, service_ports: &[u32]) -> Value {
        let mut value = task_json(task, service_ports);
        value["healthCheckResults"] = Value::Array(self.health_json(task));
        value
    }

    /// Healthy and unhealthy tasks of an app (Marathon's counts: a task with results, all
    /// alive, is healthy; one with a result not alive is unhealthy).
    pub fn health_counts(&self, app_id: &str) -> (usize, usize) {
        let Some(app) = self.apps.get(app_id) else {
            return (0, 0);
        };
        if app.health_checks.is_empty() {
            return (0, 0);
        }
        let mut healthy = 0;
        let mut unhealthy = 0;
        for task in self.tasks_of(app_id).filter(|t| t.is_running()) {
            if self.is_healthy(app, task) {
                healthy += 1;
            } else if !self.health_json(task).is_empty() {
                unhealthy += 1;
            }
        }
        (healthy, unhealthy)
    }

    /// The results of one task, one per health check of its app.
    pub fn health_of(&mut self, task_id: &str, checks: usize) -> &mut Vec<Health> {
        let results = self.health.entry(task_id.to_string()).or_default();
        results.resize_with(checks, Health::default);
        results
    }

    /// Takes in the health a Mesos-side check reported with a task's update.
    pub fn mesos_health_reported(
        &mut self,
        task_id: &str,
        healthy: bool,
        message: Option<&str>,
        now_ms: u64,
    ) {
        let Some(app_id) = self.tasks.get(task_id).map(|t| t.app_id.clone()) else {
            return;
        };
        let Some((index, count)) = self.apps.get(&app_id).and_then(|app| {
            let index = app.health_checks.iter().position(|c| c.is_mesos_check())?;
            Some((index, app.health_checks.len()))
        }) else {
            return;
        };
        if let Some(health) = self.health_of(task_id, count).get_mut(index) {
            health.reported(healthy, message, now_ms);
        }
    }
}
