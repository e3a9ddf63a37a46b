//! What the master's commands do to the agent: run a task (under its runner, or its HTTP
//! executor's), kill one, shut down a framework, relay an acknowledgement or a framework
//! message, and take a new set of active plugins. `Registered` is the registration loop's.

use std::path::PathBuf;
use std::sync::Arc;

use super::active_plugins::PluginSync;
use super::checkpoint::path_component;
use super::http_executors::follow;
use super::http_executors::registry::Registry;
use super::http_executors::sandbox::executor_sandbox;
use super::identity::AgentIdentity;
use super::runner_context::RunnerContext;
use super::runner_input::RunnerInput;
use super::runners::Runners;
use super::status_updates::AckOutcome;
use super::task_runner::TaskRunner;
use super::task_status::{StatusFields, new_status};
use super::task_store::{KillTarget, TaskStore};
use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::{
    FrameworkId, FrameworkInfo, KillPolicy, StatusSource, TaskId, TaskInfo, TaskState,
};

/// The parts of the agent the master's commands reach.
pub struct Commands {
    pub tasks: Arc<TaskStore>,
    pub identity: Arc<AgentIdentity>,
    pub executors: Arc<Registry>,
    pub plugins: Arc<PluginSync>,
    pub runners: Arc<Runners>,
    /// What each new command task's runner works with.
    pub runner: RunnerContext,
    pub work_dir: PathBuf,
}

impl Commands {
    /// Carries out one command; `Registered` and `Ping` need nothing here.
    pub fn handle(&self, command: AgentCommand) {
        match command {
            AgentCommand::Registered { .. } | AgentCommand::Ping => {}
            AgentCommand::RunTask { framework, task } => self.run_task(*framework, *task),
            AgentCommand::KillTask {
                framework_id,
                task_id,
                kill_policy,
            } => self.kill_task(&framework_id, &task_id, kill_policy.as_ref()),
            AgentCommand::Acknowledge {
                framework_id,
                task_id,
                uuid,
            } => self.acknowledge(&framework_id, &task_id, &uuid),
            AgentCommand::ShutdownFramework { framework_id } => {
                self.shutdown_framework(&framework_id)
            }
            AgentCommand::FrameworkMessage {
                framework_id,
                executor_id,
                data,
            } => self
                .executors
                .framework_message(&(framework_id, executor_id), data),
            AgentCommand::Plugins { active } => self.plugins.want(active),
            // The registration loop takes it (the agent shuts down).
            AgentCommand::Shutdown { .. } => {}
        }
    }

    fn run_task(&self, framework: FrameworkInfo, task: TaskInfo) {
        let Some(framework_id) = framework.id.clone() else {
            tracing::error!("ignoring task {}: its framework has no id", task.task_id);
            return;
        };
        let container_id = uuid::Uuid::new_v4().to_string();
        let sandbox = match &task.executor {
            Some(e) => executor_sandbox(&self.work_dir, &framework_id, &e.executor_id),
            None => self
                .work_dir
                .join("sandboxes")
                .join(path_component(&framework_id.value))
                .join(path_component(&task.task_id.value))
                .join(&container_id),
        };
        let make_runner = || {
            if task.executor.is_some() {
                follow::runner(self.executors.clone(), framework.clone(), task.clone())
            } else {
                let (runner, inbox) = TaskRunner::new(
                    self.runner.clone(),
                    &framework,
                    framework_id.clone(),
                    task.clone(),
                    container_id.clone(),
                    sandbox.clone(),
                );
                let run: futures::future::BoxFuture<'static, ()> = Box::pin(runner.run());
                (run, inbox)
            }
        };
        let launched = self.tasks.launch(
            framework.clone(),
            task.clone(),
            container_id.clone(),
            sandbox.clone(),
            make_runner,
        );
        if let Some(runner) = launched {
            self.runners.spawn(runner);
        }
    }

    fn kill_task(&self, framework_id: &FrameworkId, task_id: &TaskId, policy: Option<&KillPolicy>) {
        match self.tasks.request_kill(framework_id, task_id, policy) {
            KillTarget::Unknown => {
                tracing::warn!("kill of task {task_id} of framework {framework_id}, unknown here");
                let fields = StatusFields {
                    message: Some("task unknown to the agent".into()),
                    reason: Some(corral_api::v1::reason::TASK_UNKNOWN.into()),
                    ..Default::default()
                };
                let status = new_status(
                    task_id,
                    TaskState::TaskLost,
                    StatusSource::SourceAgent,
                    self.identity.id(),
                    fields,
                );
                self.tasks.submit_status(framework_id, status);
            }
            KillTarget::Ended => {
                tracing::info!("task {task_id} of framework {framework_id} has already ended")
            }
            KillTarget::Live { inbox, grace_ms } => {
                tracing::info!(
                    "killing task {task_id} of framework {framework_id} (grace {grace_ms} ms)"
                );
                let _ = inbox.send(RunnerInput::Kill(grace_ms));
            }
        }
    }

    fn acknowledge(&self, framework_id: &FrameworkId, task_id: &TaskId, uuid: &str) {
        match self.tasks.acknowledge(framework_id, task_id, uuid) {
            AckOutcome::Acknowledged(state) => {
                tracing::debug!("{state} of task {task_id} acknowledged");
                self.executors.acknowledged(framework_id, task_id, uuid);
            }
            AckOutcome::Ignored => {
                tracing::debug!(
                    "ignoring acknowledgement {uuid} of task {task_id}: not the pending update"
                )
            }
        }
    }

    fn shutdown_framework(&self, framework_id: &FrameworkId) {
        self.executors.shutdown_framework(framework_id);
        for (inbox, grace_ms) in self.tasks.begin_framework_shutdown(framework_id) {
            let _ = inbox.send(RunnerInput::Kill(grace_ms));
        }
    }
}
