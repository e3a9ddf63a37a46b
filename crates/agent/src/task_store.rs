//! The agent's tasks and what changes them: a launch, a status update (recorded, checkpointed
//! with the task's container and queued for the master), a kill asked for, an
//! acknowledgement, a framework shut down, a runner that ended. The table's lock is never
//! held across an await; container checkpoints are handed to the checkpoint writer under it,
//! so the writes of one container keep their order.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use super::agent_cgroups::AgentCgroups;
use super::checkpoint_writer::{CheckpointWriter, Pending};
use super::container_checkpoint::{self, ContainerCheckpoint, ProcessCheckpoint};
use super::locks::lock;
use super::runner_input::RunnerInput;
use super::shutdown::Shutdown;
use super::status_updates::{AckOutcome, StatusUpdateManager};
use super::task_status::{DEFAULT_KILL_GRACE_MS, grace_ms};
use super::tasks::{FrameworkEntry, TaskEntry, TaskTable};
use corral_api::v1::{
    AgentId, FrameworkId, FrameworkInfo, KillPolicy, Resource, Task, TaskId, TaskInfo, TaskState,
    TaskStatus,
};

pub struct TaskStore {
    table: Mutex<TaskTable>,
    updates: Arc<StatusUpdateManager>,
    cgroups: Arc<AgentCgroups>,
    work_dir: PathBuf,
    writer: CheckpointWriter,
    shutdown: Shutdown,
}

/// What a kill found.
pub enum KillTarget {
    /// No such task here.
    Unknown,
    /// The task's runner has already ended.
    Ended,
    /// The task's runner, and the grace period to kill it with.
    Live {
        inbox: UnboundedSender<RunnerInput>,
        grace_ms: u64,
    },
}

/// A command task's container as the usage calls see it.
pub struct RunningContainer {
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    pub name: String,
    pub container_id: String,
    pub resources: Vec<Resource>,
}

impl TaskStore {
    pub fn new(
        updates: Arc<StatusUpdateManager>,
        cgroups: Arc<AgentCgroups>,
        work_dir: PathBuf,
        writer: CheckpointWriter,
        shutdown: Shutdown,
    ) -> TaskStore {
        TaskStore {
            table: Mutex::new(TaskTable::default()),
            updates,
            cgroups,
            work_dir,
            writer,
            shutdown,
        }
    }

    /// Records a new task with the runner `make_runner` makes, which is returned for the
    /// caller to spawn. A task already known, or one of a framework being shut down, is
    /// refused (logged): `None`.
    pub fn launch<R>(
        &self,
        framework: FrameworkInfo,
        task: TaskInfo,
        container_id: String,
        sandbox: PathBuf,
        make_runner: impl FnOnce() -> (R, UnboundedSender<RunnerInput>),
    ) -> Option<R> {
        let framework_id = framework.id.clone()?;
        let key = (framework_id.clone(), task.task_id.clone());
        let mut table = lock(&self.table);
        if table.tasks.contains_key(&key) {
            tracing::warn!(
                "ignoring a second launch of task {} of framework {framework_id}",
                task.task_id
            );
            return None;
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
            return None;
        }
        let (runner, inbox) = make_runner();
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
        Some(runner)
    }

    /// A kill of the task: its runner's inbox and grace period (the kill's policy, else the
    /// task's, else the default). The first kill of a live task is checkpointed, so an exit
    /// while the agent is down is reported TASK_KILLED.
    pub fn request_kill(
        &self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        policy: Option<&KillPolicy>,
    ) -> KillTarget {
        let mut table = lock(&self.table);
        let Some(entry) = table.get_mut(framework_id, task_id) else {
            return KillTarget::Unknown;
        };
        let grace_ms = grace_ms(policy).or_else(|| grace_ms(entry.info.kill_policy.as_ref()));
        let grace_ms = grace_ms.unwrap_or(DEFAULT_KILL_GRACE_MS);
        let Some(inbox) = entry.runner.clone() else {
            return KillTarget::Ended;
        };
        if !entry.kill_requested {
            entry.kill_requested = true;
            self.checkpoint_container(&table, framework_id, task_id);
        }
        KillTarget::Live { inbox, grace_ms }
    }

    /// Marks every task of the framework killed and returns their runners with each task's
    /// grace period. A framework without running tasks is forgotten at once, with its
    /// pending updates; otherwise when its last runner ends (see [`Self::runner_finished`]).
    pub fn begin_framework_shutdown(
        &self,
        framework_id: &FrameworkId,
    ) -> Vec<(UnboundedSender<RunnerInput>, u64)> {
        let mut table = lock(&self.table);
        if let Some(framework) = table.frameworks.get_mut(framework_id) {
            framework.shutting_down = true;
        }
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
                let grace = grace_ms(t.info.kill_policy.as_ref()).unwrap_or(DEFAULT_KILL_GRACE_MS);
                t.runner.clone().map(|r| (r, grace))
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
        }
        inboxes
    }

    /// An acknowledgement from the framework: the update leaves its queue, and a task whose
    /// terminal update it was is forgotten with its container's checkpoint.
    pub fn acknowledge(
        &self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        uuid: &str,
    ) -> AckOutcome {
        let outcome = self.updates.acknowledge(framework_id, task_id, uuid);
        if let AckOutcome::Acknowledged(state) = &outcome
            && state.is_terminal()
        {
            let mut table = lock(&self.table);
            let key = (framework_id.clone(), task_id.clone());
            if let Some(entry) = table.tasks.remove(&key) {
                self.remove_container_checkpoint(&entry.container_id);
            }
            table.forget_framework_if_idle(framework_id);
        }
        outcome
    }

    /// Records a task's new status and queues it for the master. Returns false (and drops it)
    /// when the task already reached a terminal state.
    pub fn submit_status(&self, framework_id: &FrameworkId, status: TaskStatus) -> bool {
        let mut table = lock(&self.table);
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
        true
    }

    /// Called by a runner as it ends. A framework being shut down is forgotten, with its
    /// pending updates, once its last runner ends (as Mesos does).
    pub fn runner_finished(&self, framework_id: &FrameworkId, task_id: &TaskId) {
        let mut table = lock(&self.table);
        if let Some(entry) = table.get_mut(framework_id, task_id) {
            entry.runner = None;
        }
        let shutting_down = table
            .frameworks
            .get(framework_id)
            .is_some_and(|f| f.shutting_down);
        if shutting_down && !table.has_live_runners(framework_id) && !self.shutdown.is_set() {
            self.forget_containers(&table, framework_id);
            table.remove_framework(framework_id);
            drop(table);
            self.updates.forget_framework(framework_id);
            tracing::info!("framework {framework_id} is shut down and forgotten");
        }
    }

    /// Checkpoints the task's container (after its cgroups exist, before its command runs);
    /// await the answer to know it is on disk.
    pub fn save_container(&self, framework_id: &FrameworkId, task_id: &TaskId) -> Option<Pending> {
        let table = lock(&self.table);
        self.checkpoint_container(&table, framework_id, task_id)
    }

    /// Records the task's supervised command (the first process its executor started).
    pub fn record_process(
        &self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        process: ProcessCheckpoint,
    ) {
        let mut table = lock(&self.table);
        let Some(entry) = table.get_mut(framework_id, task_id) else {
            return;
        };
        if entry.process.is_some() {
            return;
        }
        entry.process = Some(process);
        self.checkpoint_container(&table, framework_id, task_id);
    }

    /// Records that a kill was asked for (once), so an exit during the kill's grace period
    /// is TASK_KILLED even if the agent restarts meanwhile.
    pub fn mark_kill_requested(&self, framework_id: &FrameworkId, task_id: &TaskId) {
        let mut table = lock(&self.table);
        if let Some(entry) = table.get_mut(framework_id, task_id)
            && !entry.kill_requested
        {
            entry.kill_requested = true;
            self.checkpoint_container(&table, framework_id, task_id);
        }
    }

    /// Puts a recovered task (and its framework, as checkpointed) in the table and
    /// checkpoints it.
    pub fn add_recovered(&self, framework: &FrameworkInfo, entry: TaskEntry) {
        let framework_id = entry.framework_id.clone();
        let task_id = entry.info.task_id.clone();
        let mut table = lock(&self.table);
        table
            .frameworks
            .entry(framework_id.clone())
            .or_insert_with(|| FrameworkEntry {
                info: framework.clone(),
                shutting_down: false,
            });
        table
            .tasks
            .insert((framework_id.clone(), task_id.clone()), entry);
        self.checkpoint_container(&table, &framework_id, &task_id);
    }

    /// Every task as a Mesos `Task`, with its oldest unacknowledged update.
    pub fn tasks(&self, agent_id: &AgentId) -> Vec<Task> {
        lock(&self.table).to_tasks(agent_id, |fw, t| {
            self.updates.pending(fw, t).into_iter().next()
        })
    }

    /// What a subscription reports: the tasks and their frameworks, read at once.
    pub fn subscription(&self, agent_id: &AgentId) -> (Vec<Task>, Vec<FrameworkInfo>) {
        let table = lock(&self.table);
        let tasks = table.to_tasks(agent_id, |fw, t| {
            self.updates.pending(fw, t).into_iter().next()
        });
        (tasks, table.framework_infos())
    }

    /// Where each task runs: (framework, task) -> (container id, sandbox).
    pub fn task_places(&self) -> Vec<(FrameworkId, TaskId, String, PathBuf)> {
        lock(&self.table)
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

    /// A task's resources and sandbox (what its disk watch needs); `None` if unknown.
    pub fn resources_and_sandbox(
        &self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
    ) -> Option<(Vec<Resource>, PathBuf)> {
        let table = lock(&self.table);
        let entry = table.tasks.get(&(framework_id.clone(), task_id.clone()))?;
        Some((entry.info.resources.clone(), entry.sandbox.clone()))
    }

    /// Each known task's sandbox and the user it runs as (its command's, its executor's, else
    /// its framework's): the object of `access_sandboxes`.
    pub fn sandbox_users(&self) -> Vec<(PathBuf, Option<String>)> {
        let table = lock(&self.table);
        table
            .tasks
            .values()
            .map(|e| {
                let framework_user = table
                    .frameworks
                    .get(&e.framework_id)
                    .map(|f| f.info.user.clone())
                    .filter(|user| !user.is_empty());
                let own = e.info.command.as_ref().and_then(|c| c.user.clone());
                let executor = e.info.executor.as_ref().and_then(|x| x.command.as_ref());
                let user = own
                    .or_else(|| executor.and_then(|c| c.user.clone()))
                    .or(framework_user);
                (e.sandbox.clone(), user)
            })
            .collect()
    }

    /// The containers of the command tasks that run now (an HTTP executor's tasks run in the
    /// executor's container).
    pub fn running_containers(&self) -> Vec<RunningContainer> {
        lock(&self.table)
            .tasks
            .values()
            .filter(|e| e.runner.is_some() && !e.state.is_terminal())
            .filter(|e| e.state != TaskState::TaskStaging)
            .filter(|e| e.info.executor.is_none())
            .map(|e| RunningContainer {
                framework_id: e.framework_id.clone(),
                task_id: e.info.task_id.clone(),
                name: e.info.name.clone(),
                container_id: e.container_id.clone(),
                resources: e.info.resources.clone(),
            })
            .collect()
    }

    /// The task's updates not yet acknowledged, oldest first.
    pub fn pending_updates(&self, framework_id: &FrameworkId, task_id: &TaskId) -> Vec<TaskStatus> {
        self.updates.pending(framework_id, task_id)
    }

    /// Checkpoints a task's container from its entry. Called with the table locked, so the
    /// writes of one container reach the writer in order.
    fn checkpoint_container(
        &self,
        table: &TaskTable,
        framework_id: &FrameworkId,
        task_id: &TaskId,
    ) -> Option<Pending> {
        let entry = table.tasks.get(&(framework_id.clone(), task_id.clone()))?;
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
            cgroup_parent: self.cgroups.checkpoint_parent(),
            process: entry.process,
            state: entry.state,
            kill_requested: entry.kill_requested,
        };
        let what = format!("the container of task {task_id}");
        match container_checkpoint::encode(&self.work_dir, &checkpoint) {
            Ok((path, bytes)) => Some(self.writer.write(path, bytes, what)),
            Err(e) => {
                tracing::error!("cannot checkpoint {what}: {e}");
                None
            }
        }
    }

    /// Removes the container checkpoints of a framework about to be forgotten.
    fn forget_containers(&self, table: &TaskTable, framework_id: &FrameworkId) {
        for ((fw, _), entry) in &table.tasks {
            if fw == framework_id {
                self.remove_container_checkpoint(&entry.container_id);
            }
        }
    }

    fn remove_container_checkpoint(&self, container_id: &str) {
        let dir = container_checkpoint::container_dir(&self.work_dir, container_id);
        drop(
            self.writer
                .remove_dir(dir, format!("the removal of container {container_id}")),
        );
    }
}
