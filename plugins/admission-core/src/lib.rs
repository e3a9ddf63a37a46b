//! The `admission` hook: refuses tasks that break the operator's rules, naming the rule.
//!
//! Configuration (JSON; every field optional):
//!
//! ```json
//! {
//!   "roles": {"dev": {"max_cpus": 1, "max_mem": 512}},
//!   "default": {"max_cpus": 4},                   // roles not listed above
//!   "required_labels": ["team"],
//!   "allowed_users": ["www", "batch"]
//! }
//! ```
//!
//! Limits are per task, summed over the task's resources (mem in MB). `allowed_users` checks the
//! user a task's command names; a task that names none runs as its framework's user and is
//! not checked. The task's role is the first of the framework's roles: the host puts the role
//! the task is launched under first. Only `on-launch` decides; the other hook points add
//! nothing.

use std::collections::BTreeMap;

use corral_sdk::hook::{Decoration, FrameworkInfo, Hook, LaunchDecision, TaskInfo};
use corral_sdk::types::ResourceValue;
use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    max_cpus: Option<f64>,
    max_mem: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    roles: BTreeMap<String, Limits>,
    #[serde(default)]
    default: Option<Limits>,
    #[serde(default)]
    required_labels: Vec<String>,
    #[serde(default)]
    allowed_users: Option<Vec<String>>,
}

#[derive(Default)]
pub struct Admission {
    config: Config,
}

fn scalar(task: &TaskInfo, name: &str) -> f64 {
    task.resources
        .iter()
        .filter(|r| r.name == name)
        .map(|r| match r.value {
            ResourceValue::Scalar(v) => v,
            _ => 0.0,
        })
        .sum()
}

impl Admission {
    /// The first rule the task breaks, as the reason to give the framework.
    fn check(&self, task: &TaskInfo, fw: &FrameworkInfo) -> Option<String> {
        let role = fw.roles.first().map(String::as_str).unwrap_or("*");
        let (limits, rule) = match self.config.roles.get(role) {
            Some(limits) => (Some(limits), format!("roles.{role}")),
            None => (self.config.default.as_ref(), "default".to_string()),
        };
        if let Some(limits) = limits {
            for (name, max, unit) in [
                ("cpus", limits.max_cpus, ""),
                ("mem", limits.max_mem, " MB"),
            ] {
                let asked = scalar(task, name);
                if let Some(max) = max
                    && asked > max
                {
                    return Some(format!(
                        "admission: task {} asks for {asked}{unit} {name}, over the limit of \
                         {max}{unit} per task for role '{role}' (rule {rule}.max_{name})",
                        task.task_id
                    ));
                }
            }
        }
        for key in &self.config.required_labels {
            if !task.labels.iter().any(|l| &l.key == key) {
                return Some(format!(
                    "admission: task {} has no label '{key}' (rule required_labels)",
                    task.task_id
                ));
            }
        }
        if let Some(allowed) = &self.config.allowed_users
            && let Some(user) = task.command.as_ref().and_then(|c| c.user.as_ref())
            && !allowed.contains(user)
        {
            return Some(format!(
                "admission: task {} runs as user '{user}', which is not allowed (rule allowed_users)",
                task.task_id
            ));
        }
        None
    }
}

impl Hook for Admission {
    fn init(&mut self, config: String) -> Result<(), String> {
        if config.trim().is_empty() {
            return Ok(());
        }
        self.config =
            serde_json::from_str(&config).map_err(|e| format!("admission: bad config: {e}"))?;
        Ok(())
    }

    fn on_launch(&mut self, task: TaskInfo, fw: FrameworkInfo) -> Result<LaunchDecision, String> {
        Ok(match self.check(&task, &fw) {
            Some(reason) => LaunchDecision::Deny(reason),
            None => LaunchDecision::Allow(Decoration {
                labels: Vec::new(),
                environment: Vec::new(),
            }),
        })
    }
}

#[cfg(test)]
mod tests;
