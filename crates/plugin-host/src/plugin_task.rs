//! [`PluginTask`]: a task as the host hands it to a plugin (an executor's `launch`, an
//! isolator's `prepare`, a hook): the Mesos task and the agent-side facts a plugin may need.
//! The adapters turn it into the WIT `task-info` (see `convert_task.rs`), which drops what WIT
//! cannot say (reservation details, URIs, environment variable types).

use corral_api::v1;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PluginTask {
    pub info: v1::TaskInfo,
    pub framework_id: String,
    /// The container the agent runs the task in; empty on the master.
    pub container_id: String,
    /// The task's sandbox directory on the agent; empty on the master.
    pub sandbox: String,
}

impl PluginTask {
    pub fn new(
        info: v1::TaskInfo,
        framework_id: &str,
        container_id: &str,
        sandbox: &str,
    ) -> PluginTask {
        PluginTask {
            info,
            framework_id: framework_id.to_string(),
            container_id: container_id.to_string(),
            sandbox: sandbox.to_string(),
        }
    }

    /// Removes the command's environment (what a plugin without the grant may not see).
    pub fn clear_environment(&mut self) {
        if let Some(command) = self.info.command.as_mut() {
            command.environment = None;
        }
    }

    /// Adds `variables` to the command's environment; a task without a command has none.
    pub fn add_environment(
        &mut self,
        variables: impl IntoIterator<Item = v1::EnvironmentVariable>,
    ) {
        if let Some(command) = self.info.command.as_mut() {
            command
                .environment
                .get_or_insert_default()
                .variables
                .extend(variables);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str) -> v1::EnvironmentVariable {
        v1::EnvironmentVariable {
            name: name.into(),
            value: Some("1".into()),
        }
    }

    #[test]
    fn the_environment_is_cleared_and_added_to_only_on_a_command() {
        let mut task = PluginTask::default();
        task.add_environment([var("A")]);
        assert_eq!(task.info.command, None, "no command, no environment");
        task.info.command = Some(v1::CommandInfo::default());
        task.add_environment([var("A"), var("B")]);
        let variables = |t: &PluginTask| {
            t.info
                .command
                .as_ref()
                .and_then(|c| c.environment.as_ref())
                .map(|e| e.variables.len())
        };
        assert_eq!(variables(&task), Some(2));
        task.clear_environment();
        assert_eq!(variables(&task), None);
    }
}
