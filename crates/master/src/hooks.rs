//! The master's hook points (issue 6): `on-launch` before a task is accepted and
//! `on-agent-register` when an agent subscribes. See plugins/hook_chain.rs for the chain.

use corral_api::v1::{AgentInfo, FrameworkId, TaskInfo};
use corral_http::error::ApiError;
use corral_plugin_host::PluginTask;
use corral_plugin_host::hook_chain::{LaunchVerdict, apply_to_task};

use super::core::MasterCore;

impl MasterCore {
    /// Runs `on-launch`: decorates `task` (labels, command environment) or returns the
    /// denial's message. The framework-info the hooks see lists the role the task is
    /// launched under first.
    pub(super) fn launch_hooks(
        &self,
        framework_id: &FrameworkId,
        task: &mut TaskInfo,
        role: &str,
    ) -> Result<(), String> {
        if self.hooks.is_empty() {
            return Ok(());
        }
        let Some(framework) = self.frameworks.get(framework_id) else {
            return Ok(());
        };
        let mut snapshot = framework.snapshot();
        snapshot.roles.retain(|r| r != role);
        snapshot.roles.insert(0, role.to_string());
        let mut decorated = PluginTask::new(task.clone(), &framework_id.value, "", "");
        match self.hooks.on_launch(&mut decorated, &snapshot) {
            LaunchVerdict::Allow => {
                apply_to_task(task, &decorated);
                Ok(())
            }
            LaunchVerdict::Deny { hook, reason } => {
                tracing::info!(framework = %framework_id, task = %task.task_id, %hook, %reason,
                    "a hook denied the task");
                Err(format!("Task denied by hook {hook}: {reason}"))
            }
        }
    }

    /// Runs `on-agent-register`: adds the hooks' resources and attributes to `info`, or
    /// refuses the registration (a fail-closed hook failed).
    pub(super) fn agent_register_hooks(&self, info: &mut AgentInfo) -> Result<(), ApiError> {
        if self.hooks.is_empty() {
            return Ok(());
        }
        let snapshot = corral_plugin_host::allocator::AgentSnapshot {
            id: info
                .id
                .as_ref()
                .map(|i| i.value.clone())
                .unwrap_or_default(),
            hostname: info.hostname.clone(),
            resources: info.resources.clone(),
            attributes: info.attributes.clone(),
        };
        let decoration = self.hooks.on_agent_register(&snapshot).map_err(|reason| {
            tracing::warn!(hostname = %info.hostname, %reason, "agent registration refused");
            ApiError::forbidden(format!("Agent registration refused: {reason}"))
        })?;
        info.resources.extend(decoration.resources);
        for added in decoration.attributes {
            info.attributes.retain(|a| a.name != added.name);
            info.attributes.push(added);
        }
        Ok(())
    }
}
