//! The agent's hook points (issue 6): `on-run` before the task's processes start (its
//! environment is added to the task's command) and `on-status` before an update is sent (its
//! labels are added). Both are bounded wasm calls (see plugins/hook_chain.rs), made off the
//! async threads.

use corral_api::v1::{CommandInfo, TaskStatus};
use corral_plugin_host::PluginTask;
use corral_plugin_host::hook_chain::{HookChain, add_status_labels};

/// Runs `on-run` and adds what it returns to the task's command environment; `Err` is a
/// fail-closed hook's refusal.
pub async fn run_hooks(
    hooks: &HookChain,
    task: PluginTask,
    command: Option<&mut CommandInfo>,
) -> Result<(), String> {
    if hooks.is_empty() {
        return Ok(());
    }
    let hooks = hooks.clone();
    let env = tokio::task::spawn_blocking(move || hooks.on_run(&task))
        .await
        .map_err(|e| format!("the on-run hooks panicked: {e}"))??;
    if env.is_empty() {
        return Ok(());
    }
    let Some(command) = command else {
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
pub async fn status_hooks(hooks: &HookChain, task: PluginTask, update: TaskStatus) -> TaskStatus {
    if hooks.is_empty() {
        return update;
    }
    let hooks = hooks.clone();
    let unlabelled = update.clone();
    tokio::task::spawn_blocking(move || {
        let mut update = update;
        let added = hooks.on_status(&task, &update);
        add_status_labels(&mut update.labels, added);
        update
    })
    .await
    .unwrap_or_else(|e| {
        tracing::warn!("the on-status hooks panicked: {e}");
        unlabelled
    })
}
