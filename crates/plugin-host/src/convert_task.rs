//! Conversions of what every plugin kind may be shown of a task: the task itself (WIT
//! `task-info`), its command, its health check and its status updates.

use corral_api::v1;
use corral_wit::types as wit;

use super::convert::{
    env_var_from_wit, environment_to_wit, labels_to_wit, resources_to_wit, task_state_to_wit,
};
use super::health_check::{CheckKind, HealthCheck, HttpCheck};
use super::plugin_task::PluginTask;

/// The task as the WIT `task-info` an executor, isolator or hook sees.
pub(crate) fn task_to_wit(task: &PluginTask) -> wit::TaskInfo {
    let info = &task.info;
    wit::TaskInfo {
        task_id: info.task_id.value.clone(),
        name: info.name.clone(),
        framework_id: task.framework_id.clone(),
        agent_id: info.agent_id.value.clone(),
        container_id: task.container_id.clone(),
        resources: resources_to_wit(&info.resources),
        command: info.command.as_ref().map(command_to_wit),
        labels: labels_to_wit(info.labels.as_ref()),
        kill_grace_period_ms: info
            .kill_policy
            .as_ref()
            .and_then(|k| k.grace_period)
            .map(|d| u64::try_from(d.nanoseconds / 1_000_000).unwrap_or(0)),
        health_check: info
            .health_check
            .as_ref()
            .and_then(HealthCheck::from_mesos)
            .map(|check| health_check_to_wit(&check)),
        sandbox: task.sandbox.clone(),
    }
}

pub(crate) fn command_to_wit(command: &v1::CommandInfo) -> wit::CommandInfo {
    wit::CommandInfo {
        shell: command.is_shell(),
        value: command.value.clone().unwrap_or_default(),
        arguments: command.arguments.clone(),
        environment: environment_to_wit(command.environment.as_ref()),
        user: command.user.clone(),
    }
}

/// A command a plugin asks the host to run, as a Mesos command (no URIs: nothing to fetch).
pub(crate) fn command_from_wit(command: wit::CommandInfo) -> v1::CommandInfo {
    let variables: Vec<_> = command
        .environment
        .into_iter()
        .map(env_var_from_wit)
        .collect();
    v1::CommandInfo {
        uris: Vec::new(),
        environment: (!variables.is_empty()).then_some(v1::Environment { variables }),
        shell: Some(command.shell),
        value: Some(command.value),
        arguments: command.arguments,
        user: command.user,
    }
}

pub(crate) fn health_check_to_wit(check: &HealthCheck) -> wit::HealthCheck {
    wit::HealthCheck {
        kind: match &check.kind {
            CheckKind::Command(command) => wit::CheckKind::Command(command_to_wit(command)),
            CheckKind::Http(http) => wit::CheckKind::Http(wit::HttpCheck {
                port: http.port,
                path: http.path.clone(),
                scheme: http.scheme.clone(),
            }),
            CheckKind::Tcp(port) => wit::CheckKind::Tcp(*port),
        },
        delay_seconds: check.delay_seconds,
        interval_seconds: check.interval_seconds,
        timeout_seconds: check.timeout_seconds,
        consecutive_failures: check.consecutive_failures,
        grace_period_seconds: check.grace_period_seconds,
    }
}

pub(crate) fn health_check_from_wit(check: wit::HealthCheck) -> HealthCheck {
    HealthCheck {
        kind: match check.kind {
            wit::CheckKind::Command(command) => CheckKind::Command(command_from_wit(command)),
            wit::CheckKind::Http(http) => CheckKind::Http(HttpCheck {
                port: http.port,
                path: http.path,
                scheme: http.scheme,
            }),
            wit::CheckKind::Tcp(port) => CheckKind::Tcp(port),
        },
        delay_seconds: check.delay_seconds,
        interval_seconds: check.interval_seconds,
        timeout_seconds: check.timeout_seconds,
        consecutive_failures: check.consecutive_failures,
        grace_period_seconds: check.grace_period_seconds,
    }
}

/// A status update as a hook's `on-status` sees it.
pub(crate) fn status_to_wit(status: &v1::TaskStatus) -> wit::TaskStatus {
    wit::TaskStatus {
        task_id: status.task_id.value.clone(),
        state: task_state_to_wit(status.state),
        message: status.message.clone(),
        reason: status.reason.clone(),
        healthy: status.healthy,
        labels: labels_to_wit(status.labels.as_ref()),
    }
}

#[cfg(test)]
#[path = "convert_task_tests.rs"]
mod tests;
