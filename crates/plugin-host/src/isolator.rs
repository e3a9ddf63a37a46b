//! The isolator as the agent sees it: one long-lived [`IsolatorPlugin`] per configured
//! isolator, asked for resources at start and for a launch plan before each task, and the
//! check of a plan against the plugin's manifest ([`check_plan`]): the host applies only what
//! the manifest grants, and refuses the whole plan otherwise. Host types: the adapter
//! (`wasm_isolator.rs`) converts to and from WIT (wit/isolator.wit).

use corral_api::v1;

use super::error::PluginError;
use super::manifest::Manifest;
use super::plugin_task::PluginTask;

pub trait IsolatorPlugin: Send {
    fn plugin_name(&self) -> &str;
    fn manifest(&self) -> &Manifest;
    /// Resources this isolator contributes to the agent (for example `gpus`).
    fn discover(&mut self) -> Result<Vec<v1::Resource>, PluginError>;
    fn recover(&mut self, containers: &[RecoveredContainer]) -> Result<(), PluginError>;
    fn prepare(&mut self, container_id: &str, task: &PluginTask)
    -> Result<LaunchPlan, PluginError>;
    fn usage(&mut self, container_id: &str) -> Result<Vec<Metric>, PluginError>;
    fn cleanup(&mut self, container_id: &str) -> Result<(), PluginError>;
}

/// What a plugin asks for a container before its task's first process starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaunchPlan {
    pub environment: Vec<v1::EnvironmentVariable>,
    /// Devices the container may use; all others stay denied.
    pub devices: Vec<DeviceRule>,
    pub mounts: Vec<Mount>,
    pub cgroup: Vec<CgroupSetting>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    /// A device node path such as "/dev/nvidia0".
    pub path: String,
    /// Any of "r", "w", "m" (read, write, mknod), as the devices cgroup writes them.
    pub access: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupSetting {
    /// The controller, such as "memory".
    pub controller: String,
    /// The file in the controller, such as "memory.limit_in_bytes".
    pub key: String,
    pub value: String,
}

/// Plugin-specific usage of a container (for example GPU memory).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

/// A container that survived an agent restart, with its task as the plugin saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredContainer {
    pub container_id: String,
    pub task: PluginTask,
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
        let value = var.value.as_deref().unwrap_or_default();
        if var.name.is_empty() || var.name.contains(['=', '\0']) || value.contains('\0') {
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
