//! The agent's hook points (issue 6): `on-run` before the task's processes start (its
//! environment is added to the task's command) and `on-status` before an update is sent (its
//! labels are added). Both are bounded wasm calls (see plugins/hook_chain.rs).

use super::TaskRunner;
use corral_api::v1::{EnvironmentVariable, TaskStatus};
use corral_plugin_host::convert::{labels_to_wit, task_state_to_wit, task_to_wit};
use corral_plugin_host::hook_chain::add_status_labels;
use corral_wit::types as wit;

impl TaskRunner {
    fn wit_task(&self) -> wit::TaskInfo {
        task_to_wit(
            &self.task,
            &self.framework_id.value,
            &self.container_id,
            &self.sandbox.display().to_string(),
        )
    }

    /// Runs `on-run` off the async threads and adds what it returns to the task's command
    /// environment; `Err` is a fail-closed hook's refusal.
    pub(super) async fn run_hooks(&mut self) -> Result<(), String> {
        let hooks = self.plugins.hooks.clone();
        if hooks.is_empty() {
            return Ok(());
        }
        let task = self.wit_task();
        let env = tokio::task::spawn_blocking(move || hooks.on_run(&task))
            .await
            .map_err(|e| format!("the on-run hooks panicked: {e}"))??;
        if env.is_empty() {
            return Ok(());
        }
        let Some(command) = self.task.command.as_mut() else {
            return Ok(());
        };
        let variables = &mut command.environment.get_or_insert_default().variables;
        for var in env {
            variables.retain(|v| v.name != var.name);
            variables.push(EnvironmentVariable {
                name: var.name,
                value: Some(var.value),
            });
        }
        Ok(())
    }

    /// Runs `on-status` and adds its labels to `update`. A failure only loses that hook's
    /// labels (a status cannot be denied).
    pub(super) fn status_hooks(&self, update: &mut TaskStatus) {
        let hooks = &self.plugins.hooks;
        if hooks.is_empty() {
            return;
        }
        let status = wit::TaskStatus {
            task_id: update.task_id.value.clone(),
            state: task_state_to_wit(update.state),
            message: update.message.clone(),
            reason: update.reason.clone(),
            healthy: update.healthy,
            labels: labels_to_wit(update.labels.as_ref()),
        };
        let added = hooks.on_status(&self.wit_task(), &status);
        add_status_labels(&mut update.labels, added);
    }
}
