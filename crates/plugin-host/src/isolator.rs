//! The isolator as the agent sees it: one long-lived [`IsolatorPlugin`] per configured
//! isolator, asked for resources at start and for a launch plan before each task, and the
//! check of a plan against the plugin's manifest ([`check_plan`]): the host applies only what
//! the manifest grants, and refuses the whole plan otherwise.

use super::error::PluginError;
use super::manifest::Manifest;
pub use corral_wit::isolator::exports::corral::plugin::isolator::{
    CgroupSetting, DeviceRule, LaunchPlan, Metric, Mount, RecoveredContainer,
};
use corral_wit::types::{Resource, TaskInfo};

pub trait IsolatorPlugin: Send {
    fn plugin_name(&self) -> &str;
    fn manifest(&self) -> &Manifest;
    fn discover(&mut self) -> Result<Vec<Resource>, PluginError>;
    fn recover(&mut self, containers: &[RecoveredContainer]) -> Result<(), PluginError>;
    fn prepare(&mut self, container_id: &str, task: &TaskInfo) -> Result<LaunchPlan, PluginError>;
    fn usage(&mut self, container_id: &str) -> Result<Vec<Metric>, PluginError>;
    fn cleanup(&mut self, container_id: &str) -> Result<(), PluginError>;
}

/// The agent's isolator plugins, in the order they were configured, and the root their
/// device and file paths are taken below. Cheap to clone; clones share the instances.
#[derive(Clone, Default)]
pub struct IsolatorSet {
    pub plugins: Vec<std::sync::Arc<std::sync::Mutex<Box<dyn IsolatorPlugin>>>>,
    /// "/" in production; a fake tree in tests.
    pub discovery_root: std::path::PathBuf,
}

impl IsolatorSet {
    pub fn new(plugins: Vec<Box<dyn IsolatorPlugin>>, discovery_root: std::path::PathBuf) -> Self {
        IsolatorSet {
            plugins: plugins
                .into_iter()
                .map(|p| std::sync::Arc::new(std::sync::Mutex::new(p)))
                .collect(),
            discovery_root,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}

impl std::fmt::Debug for IsolatorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .plugins
            .iter()
            .map(|p| match p.lock() {
                Ok(p) => p.plugin_name().to_string(),
                Err(_) => "(poisoned)".to_string(),
            })
            .collect();
        f.debug_struct("IsolatorSet")
            .field("plugins", &names)
            .field("discovery_root", &self.discovery_root)
            .finish()
    }
}

/// Every part of `plan` the manifest does not grant, as one message per refusal (empty: the
/// plan may be applied as it is).
pub fn check_plan(manifest: &Manifest, plan: &LaunchPlan) -> Vec<String> {
    let mut refusals = Vec::new();
    for var in &plan.environment {
        if var.name.is_empty() || var.name.contains(['=', '\0']) || var.value.contains('\0') {
            refusals.push(format!("environment variable {:?} is malformed", var.name));
        } else if var.name.starts_with("MESOS_") {
            refusals.push(format!("environment variable {} is the agent's", var.name));
        }
    }
    if !plan.devices.is_empty() && !manifest.grants_cgroup_controller("devices") {
        refusals.push("device rules need the 'devices' cgroup controller grant".to_string());
    }
    for rule in &plan.devices {
        if !manifest.grants_device(&rule.path) || rule.path.split('/').any(|p| p == "..") {
            refusals.push(format!(
                "device {} is not granted (capabilities.devices: {:?})",
                rule.path, manifest.capabilities.devices
            ));
        }
        if rule.access.is_empty() || !rule.access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            refusals.push(format!(
                "device {}: access {:?} is not made of r, w and m",
                rule.path, rule.access
            ));
        }
    }
    for mount in &plan.mounts {
        refusals.push(format!(
            "mount {} -> {}: this agent does not give containers a mount namespace yet",
            mount.source, mount.target
        ));
    }
    for setting in &plan.cgroup {
        if !manifest.grants_cgroup_controller(&setting.controller) {
            refusals.push(format!(
                "cgroup controller {} is not granted (capabilities.cgroup_controllers: {:?})",
                setting.controller, manifest.capabilities.cgroup_controllers
            ));
        } else if !setting.key.starts_with(&format!("{}.", setting.controller))
            || setting.key.contains('/')
            || setting.key.contains("..")
        {
            refusals.push(format!(
                "cgroup file {:?} is not a file of the {} controller",
                setting.key, setting.controller
            ));
        }
    }
    refusals
}

#[cfg(test)]
#[path = "isolator_tests.rs"]
mod tests;
