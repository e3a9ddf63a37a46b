//! The agent's hook points (issue 6): `on-run` before the task's processes start (its
//! environment is added to the task's command) and `on-status` before an update is sent (its
//! labels are added). Both are bounded wasm calls (see plugins/hook_chain.rs).

use super::TaskRunner;
use corral_api::v1::TaskStatus;
use corral_plugin_host::hook_chain::add_status_labels;

impl TaskRunner {
    /// Runs `on-run` off the async threads and adds what it returns to the task's command
    /// environment; `Err` is a fail-closed hook's refusal.
    pub(super) async fn run_hooks(&mut self) -> Result<(), String> {
        let hooks = self.plugins.hooks.clone();
        if hooks.is_empty() {
            return Ok(());
        }
        let task = self.plugin_task();
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
            variables.push(var);
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
        let added = hooks.on_status(&self.plugin_task(), update);
        add_status_labels(&mut update.labels, added);
    }
}
