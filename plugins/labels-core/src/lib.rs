//! The `labels` hook: adds fixed labels and environment at each hook point.
//!
//! Configuration (JSON; every field optional):
//!
//! ```json
//! {
//!   "labels": {"team": "infra"},            // on-launch: labels on every task
//!   "environment": {"DC": "eu-1"},          // on-launch: env on every task's command
//!   "roles": {"dev": {"labels": {"tier": "dev"}, "environment": {"DEBUG": "1"}}},
//!   "run_environment": {"NODE_POOL": "a"},  // on-run (agent): env of the task's process
//!   "status_labels": {"via": "corral"},     // on-status (agent): labels on status updates
//!   "agent_attributes": {"zone": "z1"}      // on-agent-register (master)
//! }
//! ```
//!
//! Per-role entries apply after the global ones (the same key takes the role's value). The
//! task's role is the first of the framework's roles: the host puts the role the task is
//! launched under first.

use std::collections::BTreeMap;

use corral_sdk::hook::{
    AgentDecoration, AgentInfo, Decoration, EnvVar, FrameworkInfo, Hook, Label, LaunchDecision,
    TaskInfo, TaskStatus,
};
use corral_sdk::types::Attribute;
use serde::Deserialize;

type Pairs = BTreeMap<String, String>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleConfig {
    #[serde(default)]
    labels: Pairs,
    #[serde(default)]
    environment: Pairs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    labels: Pairs,
    #[serde(default)]
    environment: Pairs,
    #[serde(default)]
    roles: BTreeMap<String, RoleConfig>,
    #[serde(default)]
    run_environment: Pairs,
    #[serde(default)]
    status_labels: Pairs,
    #[serde(default)]
    agent_attributes: Pairs,
}

#[derive(Default)]
pub struct Labels {
    config: Config,
}

fn labels(pairs: &Pairs) -> Vec<Label> {
    pairs
        .iter()
        .map(|(k, v)| Label {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

fn env(pairs: &Pairs) -> Vec<EnvVar> {
    pairs
        .iter()
        .map(|(k, v)| EnvVar {
            name: k.clone(),
            value: v.clone(),
        })
        .collect()
}

impl Hook for Labels {
    fn init(&mut self, config: String) -> Result<(), String> {
        if config.trim().is_empty() {
            return Ok(());
        }
        self.config =
            serde_json::from_str(&config).map_err(|e| format!("labels: bad config: {e}"))?;
        Ok(())
    }

    fn on_launch(&mut self, _task: TaskInfo, fw: FrameworkInfo) -> Result<LaunchDecision, String> {
        let mut label_pairs = self.config.labels.clone();
        let mut env_pairs = self.config.environment.clone();
        if let Some(role) = fw.roles.first().and_then(|r| self.config.roles.get(r)) {
            label_pairs.extend(role.labels.clone());
            env_pairs.extend(role.environment.clone());
        }
        Ok(LaunchDecision::Allow(Decoration {
            labels: labels(&label_pairs),
            environment: env(&env_pairs),
        }))
    }

    fn on_run(&mut self, _task: TaskInfo) -> Result<Vec<EnvVar>, String> {
        Ok(env(&self.config.run_environment))
    }

    fn on_status(&mut self, _task: TaskInfo, _status: TaskStatus) -> Result<Vec<Label>, String> {
        Ok(labels(&self.config.status_labels))
    }

    fn on_agent_register(&mut self, _agent: AgentInfo) -> Result<AgentDecoration, String> {
        Ok(AgentDecoration {
            resources: Vec::new(),
            attributes: self
                .config
                .agent_attributes
                .iter()
                .map(|(k, v)| Attribute {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests;
