//! The agent's state shared by its HTTP server, registration loop, update sender and task
//! runners, and what the master's commands do to it. Locks are never held across an await.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, watch};

use super::AgentConfig;
use super::checkpoint;
use super::container_checkpoint::{self, ContainerCheckpoint, ProcessCheckpoint};
use super::lock;
use super::status_updates::{AckOutcome, StatusUpdateManager};
use super::task_runner::{RunnerInput, TaskRunner};
use super::tasks::{FrameworkEntry, StatusFields, TaskEntry, TaskTable, new_status};
use corral_api::agent_protocol::{AgentCommand, AgentSubscribe};
use corral_api::v1::{
    AgentId, AgentInfo, FrameworkId, FrameworkInfo, KillPolicy, StatusSource, Task, TaskId,
    TaskInfo, TaskState, TaskStatus,
};
use corral_plugin_host::executor::ExecutorFactory;

/// The grace between SIGTERM and SIGKILL when neither the kill nor the task names one.
pub const DEFAULT_KILL_GRACE_MS: u64 = 3000;

pub struct AgentShared {
    pub(crate) config: AgentConfig,
    /// hostname, port, resources and attributes; the id lives in `agent_id`.
    pub(crate) info: AgentInfo,
    pub(crate) agent_id: Mutex<Option<AgentId>>,
    pub(crate) tasks: Mutex<TaskTable>,
    pub(crate) updates: StatusUpdateManager,
    pub(crate) executor: ExecutorFactory,
    pub(crate) http: reqwest::Client,
    /// `host:port` of the master this agent follows now (the leader, once registered);
    /// `config.master` may list several.
    pub(crate) master_now: Mutex<String>,
    /// Whether the master has registered us on the current stream.
    pub(crate) registered: AtomicBool,
    /// Wakes the update sender: a new update, an acknowledgement or a registration.
    pub(crate) updates_changed: Notify,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) runners: Mutex<tokio::task::JoinSet<()>>,
    pub(crate) tuning: super::Tuning,
    pub(crate) isolator: corral_cgroups::Isolator,
    /// Tasks with an `executor` run under these executor processes.
    pub(crate) http_executors: super::http_executors::Registry,
    /// Plugins activated on the master: what is loaded, what launches use.
    pub(crate) plugin_sync: super::plugin_sync::PluginSync,
    /// The plugin engine when the config gives none (made on first use).
    pub(crate) fallback_engine: std::sync::OnceLock<corral_plugin_host::PluginEngine>,
}

impl AgentShared {
    /// `host:port` of the master the agent talks to now.
    pub fn master_now(&self) -> String {
        lock(&self.master_now).clone()
    }

    pub fn agent_id(&self) -> Option<AgentId> {
        lock(&self.agent_id).clone()
    }

    /// The agent's cgroup under the isolation root: its id, once it has one.
    pub fn cgroup_name(&self) -> String {
        self.agent_id()
            .map_or_else(|| "unregistered".to_string(), |id| id.value)
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Adopts the id the master gave and saves it for the next start.
    pub fn set_registered(&self, id: AgentId) {
        let previous = lock(&self.agent_id).replace(id.clone());
        if previous.as_ref().is_some_and(|p| p != &id) {
            tracing::warn!("the master registered this agent as {id}, not {previous:?}");
        }
        if previous.as_ref() != Some(&id)
            && let Err(e) = checkpoint::save_agent_id(&self.config.work_dir, &id)
        {
            tracing::error!("cannot save the agent id: {e}");
        }
        self.registered.store(true, Ordering::SeqCst);
        self.updates.mark_all_due();
        self.updates_changed.notify_one();
    }

    /// What the agent tells the master when it (re)subscribes.
    pub fn subscribe_message(&self) -> AgentSubscribe {
        let agent_id = self.agent_id();
        let mut info = self.info.clone();
        info.id = agent_id.clone();
        let table = lock(&self.tasks);
        AgentSubscribe {
            tasks: table.to_tasks(&agent_id.clone().unwrap_or_default(), |fw, t| {
                self.updates.pending(fw, t).into_iter().next()
            }),
            frameworks: table.framework_infos(),
            agent_id,
            info,
            version: corral_api::VERSION.to_string(),
            isolation_note: self.isolator.fallback_note(),
        }
    }

    pub fn tasks_snapshot(&self) -> Vec<Task> {
        let agent_id = self.agent_id().unwrap_or_default();
        lock(&self.tasks).to_tasks(&agent_id, |fw, t| {
            self.updates.pending(fw, t).into_iter().next()
        })
    }

    /// Where each task runs: (framework, task) -> (container id, sandbox).
    pub fn task_places(&self) -> Vec<(FrameworkId, TaskId, String, std::path::PathBuf)> {
        lock(&self.tasks)
            .tasks
            .iter()
            .map(|((fw, t), e)| {
                (
                    fw.clone(),
                    t.clone(),
                    e.container_id.clone(),
                    e.sandbox.clone(),
                )
            })
            .collect()
    }

    pub fn handle_command(self: &Arc<Self>, command: AgentCommand) {
        match command {
            AgentCommand::Registered { agent_id } => self.set_registered(agent_id),
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
                .http_executors
                .framework_message(&(framework_id, executor_id), data),
            AgentCommand::Ping => {}
            AgentCommand::Plugins { active } => self.plugin_sync.want(active),
        }
    }

    fn run_task(self: &Arc<Self>, framework: FrameworkInfo, task: TaskInfo) {
        let Some(framework_id) = framework.id.clone() else {
            tracing::error!("ignoring task {}: its framework has no id", task.task_id);
            return;
        };
        let key = (framework_id.clone(), task.task_id.clone());
        let mut table = lock(&self.tasks);
        if table.tasks.contains_key(&key) {
            tracing::warn!(
                "ignoring a second launch of task {} of framework {framework_id}",
                task.task_id
            );
            return;
        }
        if table
            .frameworks
            .get(&framework_id)
            .is_some_and(|f| f.shutting_down)
        {
            tracing::warn!(
                "ignoring task {}: framework {framework_id} is being shut down",
                task.task_id
            );
            return;
        }
        let container_id = uuid::Uuid::new_v4().to_string();
        let sandbox = self
            .config
            .work_dir
            .join("sandboxes")
            .join(checkpoint::path_component(&framework_id.value))
            .join(checkpoint::path_component(&task.task_id.value))
            .join(&container_id);
        let sandbox = match &task.executor {
            Some(e) => super::http_executors::executor_sandbox(
                &self.config.work_dir,
                &framework_id,
                &e.executor_id,
            ),
            None => sandbox,
        };
        let (runner, inbox) = if task.executor.is_some() {
            super::http_executors::runner(self.clone(), framework.clone(), task.clone())
        } else {
            let (runner, inbox) = TaskRunner::new(
                self.clone(),
                framework_id.clone(),
                task.clone(),
                container_id.clone(),
                sandbox.clone(),
            );
            let run: futures::future::BoxFuture<'static, ()> = Box::pin(runner.run());
            (run, inbox)
        };
        tracing::info!(
            "launching task {} of framework {framework_id} in {}",
            task.task_id,
            sandbox.display()
        );
        table.frameworks.insert(
            framework_id.clone(),
            FrameworkEntry {
                info: framework,
                shutting_down: false,
            },
        );
        table.tasks.insert(
            key,
            TaskEntry {
                framework_id,
                info: task,
                container_id,
                sandbox,
                state: TaskState::TaskStaging,
                latest: None,
                runner: Some(inbox),
                process: None,
                kill_requested: false,
            },
        );
        drop(table);
        let mut runners = lock(&self.runners);
        while runners.try_join_next().is_some() {}
        runners.spawn(runner);
    }

    fn kill_task(&self, framework_id: &FrameworkId, task_id: &TaskId, policy: Option<&KillPolicy>) {
        let mut table = lock(&self.tasks);
        let Some(entry) = table.get_mut(framework_id, task_id) else {
            drop(table);
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
                self.agent_id(),
                fields,
            );
            self.submit_status(framework_id, status);
            return;
        };
        let grace_ms = grace_ms(policy).or_else(|| grace_ms(entry.info.kill_policy.as_ref()));
        let grace_ms = grace_ms.unwrap_or(DEFAULT_KILL_GRACE_MS);
        if entry.runner.is_some() && !entry.kill_requested {
            entry.kill_requested = true;
            self.checkpoint_container(&table, framework_id, task_id);
        }
        let Some(entry) = table.get_mut(framework_id, task_id) else {
            return;
        };
        match &entry.runner {
            Some(inbox) => {
                tracing::info!(
                    "killing task {task_id} of framework {framework_id} (grace {grace_ms} ms)"
                );
                let _ = inbox.send(RunnerInput::Kill(grace_ms));
            }
            None => tracing::info!("task {task_id} of framework {framework_id} has already ended"),
        }
    }

    fn acknowledge(&self, framework_id: &FrameworkId, task_id: &TaskId, uuid: &str) {
        match self.updates.acknowledge(framework_id, task_id, uuid) {
            AckOutcome::Acknowledged(state) => {
                tracing::debug!("{state} of task {task_id} acknowledged");
                self.http_executors
                    .acknowledged(framework_id, task_id, uuid);
                if state.is_terminal() {
                    let mut table = lock(&self.tasks);
                    let key = (framework_id.clone(), task_id.clone());
                    if let Some(entry) = table.tasks.remove(&key) {
                        container_checkpoint::remove(&self.config.work_dir, &entry.container_id);
                    }
                    table.forget_framework_if_idle(framework_id);
                }
                self.updates_changed.notify_one();
            }
            AckOutcome::Ignored => {
                tracing::debug!(
                    "ignoring acknowledgement {uuid} of task {task_id}: not the pending update"
                )
            }
        }
    }

    fn shutdown_framework(&self, framework_id: &FrameworkId) {
        let mut table = lock(&self.tasks);
        if let Some(framework) = table.frameworks.get_mut(framework_id) {
            framework.shutting_down = true;
        }
        self.http_executors.shutdown_framework(framework_id);
        let live: Vec<TaskId> = table
            .tasks
            .iter()
            .filter(|((fw, _), t)| fw == framework_id && t.runner.is_some())
            .map(|((_, t), _)| t.clone())
            .collect();
        for task_id in &live {
            if let Some(entry) = table.get_mut(framework_id, task_id) {
                entry.kill_requested = true;
            }
            self.checkpoint_container(&table, framework_id, task_id);
        }
        let inboxes: Vec<_> = table
            .tasks
            .iter()
            .filter(|((fw, _), _)| fw == framework_id)
            .filter_map(|(_, t)| {
                t.runner
                    .clone()
                    .map(|r| (r, grace_ms(t.info.kill_policy.as_ref())))
            })
            .collect();
        tracing::info!(
            "shutting down framework {framework_id}: killing {} tasks",
            inboxes.len()
        );
        if inboxes.is_empty() {
            self.forget_containers(&table, framework_id);
            table.remove_framework(framework_id);
            drop(table);
            self.updates.forget_framework(framework_id);
            return;
        }
        for (inbox, grace) in inboxes {
            let _ = inbox.send(RunnerInput::Kill(grace.unwrap_or(DEFAULT_KILL_GRACE_MS)));
        }
    }

    /// Records a task's new status and queues it for the master. Returns false (and drops it)
    /// when the task already reached a terminal state.
    pub fn submit_status(&self, framework_id: &FrameworkId, status: TaskStatus) -> bool {
        let mut table = lock(&self.tasks);
        if let Some(entry) = table.get_mut(framework_id, &status.task_id) {
            if entry.state.is_terminal() {
                tracing::warn!(
                    "ignoring {} of task {}: it already ended with {}",
                    status.state,
                    status.task_id,
                    entry.state
                );
                return false;
            }
            let changed = entry.state != status.state;
            entry.state = status.state;
            entry.latest = Some(status.clone());
            // Recovery needs the state, not each health or message update: an update that
            // keeps the state costs no extra fsync here.
            if changed {
                self.checkpoint_container(&table, framework_id, &status.task_id);
            }
        }
        drop(table);
        tracing::info!("task {} is {}", status.task_id, status.state);
        self.updates.enqueue(framework_id, status);
        self.updates_changed.notify_one();
        true
    }

    /// Called by a runner as it ends. A framework being shut down is forgotten, with its
    /// pending updates, once its last runner ends (as Mesos does).
    pub fn runner_finished(&self, framework_id: &FrameworkId, task_id: &TaskId) {
        let mut table = lock(&self.tasks);
        if let Some(entry) = table.get_mut(framework_id, task_id) {
            entry.runner = None;
        }
        let shutting_down = table
            .frameworks
            .get(framework_id)
            .is_some_and(|f| f.shutting_down);
        if shutting_down && !table.has_live_runners(framework_id) && !self.is_shutting_down() {
            self.forget_containers(&table, framework_id);
            table.remove_framework(framework_id);
            drop(table);
            self.updates.forget_framework(framework_id);
            tracing::info!("framework {framework_id} is shut down and forgotten");
        }
    }
}

impl AgentShared {
    /// Checkpoints a task's container from its entry. Called with the table locked, so the
    /// writes of one container never interleave.
    pub fn checkpoint_container(
        &self,
        table: &TaskTable,
        framework_id: &FrameworkId,
        task_id: &TaskId,
    ) {
        let Some(entry) = table.tasks.get(&(framework_id.clone(), task_id.clone())) else {
            return;
        };
        let framework = table
            .frameworks
            .get(framework_id)
            .map(|f| f.info.clone())
            .unwrap_or_else(|| FrameworkInfo {
                id: Some(framework_id.clone()),
                ..Default::default()
            });
        let checkpoint = ContainerCheckpoint {
            framework,
            task: entry.info.clone(),
            container_id: entry.container_id.clone(),
            sandbox: entry.sandbox.clone(),
            cgroup_parent: self
                .isolator
                .fallback_note()
                .is_none()
                .then(|| self.cgroup_name()),
            process: entry.process,
            state: entry.state,
            kill_requested: entry.kill_requested,
        };
        if let Err(e) = container_checkpoint::save(&self.config.work_dir, &checkpoint) {
            tracing::error!("task {task_id}: cannot checkpoint its container: {e}");
        }
    }

    /// Checkpoints the task's container (after its cgroups exist, before its command runs).
    pub fn save_container(&self, framework_id: &FrameworkId, task_id: &TaskId) {
        let table = lock(&self.tasks);
        self.checkpoint_container(&table, framework_id, task_id);
    }

    /// Records the task's supervised command (the first process its executor started).
    pub fn record_process(
        &self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        process: ProcessCheckpoint,
    ) {
        let mut table = lock(&self.tasks);
        let Some(entry) = table.get_mut(framework_id, task_id) else {
            return;
        };
        if entry.process.is_some() {
            return;
        }
        entry.process = Some(process);
        self.checkpoint_container(&table, framework_id, task_id);
    }

    /// Removes the container checkpoints of a framework about to be forgotten.
    fn forget_containers(&self, table: &TaskTable, framework_id: &FrameworkId) {
        for ((fw, _), entry) in &table.tasks {
            if fw == framework_id {
                container_checkpoint::remove(&self.config.work_dir, &entry.container_id);
            }
        }
    }
}

fn grace_ms(policy: Option<&KillPolicy>) -> Option<u64> {
    policy
        .and_then(|p| p.grace_period)
        .map(|d| u64::try_from(d.nanoseconds / 1_000_000).unwrap_or(0))
}
