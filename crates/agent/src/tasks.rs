//! The agent's record of its tasks and their frameworks: what each task is, where it runs,
//! its latest state, and how to reach its runner.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use super::container_checkpoint::ProcessCheckpoint;
use super::runner_input::RunnerInput;
use corral_api::v1::{
    AgentId, FrameworkId, FrameworkInfo, Task, TaskId, TaskInfo, TaskState, TaskStatus,
};

pub struct TaskEntry {
    pub framework_id: FrameworkId,
    pub info: TaskInfo,
    pub container_id: String,
    pub sandbox: PathBuf,
    pub state: TaskState,
    pub latest: Option<TaskStatus>,
    /// The runner's inbox; `None` once the runner has finished.
    pub runner: Option<UnboundedSender<RunnerInput>>,
    /// The supervised command, once started (checkpointed for recovery).
    pub process: Option<ProcessCheckpoint>,
    /// Whether a kill was asked for (checkpointed for recovery).
    pub kill_requested: bool,
}

pub struct FrameworkEntry {
    pub info: FrameworkInfo,
    /// Set by ShutdownFramework: its tasks are being killed, then it is forgotten.
    pub shutting_down: bool,
}

#[derive(Default)]
pub struct TaskTable {
    pub tasks: BTreeMap<(FrameworkId, TaskId), TaskEntry>,
    pub frameworks: BTreeMap<FrameworkId, FrameworkEntry>,
}

impl TaskTable {
    pub fn get_mut(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
    ) -> Option<&mut TaskEntry> {
        self.tasks.get_mut(&(framework_id.clone(), task_id.clone()))
    }

    /// Whether any task of the framework still has a running runner.
    pub fn has_live_runners(&self, framework_id: &FrameworkId) -> bool {
        self.tasks
            .iter()
            .any(|((fw, _), t)| fw == framework_id && t.runner.is_some())
    }

    /// Forgets the framework and all its tasks.
    pub fn remove_framework(&mut self, framework_id: &FrameworkId) {
        self.tasks.retain(|(fw, _), _| fw != framework_id);
        self.frameworks.remove(framework_id);
    }

    /// Forgets a framework that has no tasks left here (and is not being shut down).
    pub fn forget_framework_if_idle(&mut self, framework_id: &FrameworkId) {
        if !self.tasks.keys().any(|(fw, _)| fw == framework_id) {
            self.frameworks.remove(framework_id);
        }
    }

    /// The tasks as Mesos `Task`s; `pending` gives a task's oldest unacknowledged update.
    pub fn to_tasks(
        &self,
        agent_id: &AgentId,
        pending: impl Fn(&FrameworkId, &TaskId) -> Option<TaskStatus>,
    ) -> Vec<Task> {
        self.tasks
            .values()
            .map(|entry| {
                let head = pending(&entry.framework_id, &entry.info.task_id);
                Task {
                    name: entry.info.name.clone(),
                    task_id: entry.info.task_id.clone(),
                    framework_id: entry.framework_id.clone(),
                    executor_id: entry.info.executor.as_ref().map(|e| e.executor_id.clone()),
                    agent_id: agent_id.clone(),
                    state: entry.state,
                    resources: entry.info.resources.clone(),
                    statuses: entry.latest.iter().cloned().collect(),
                    user: entry.info.user().map(str::to_string),
                    status_update_state: head.as_ref().map(|s| s.state),
                    status_update_uuid: head.and_then(|s| s.uuid),
                    labels: entry.info.labels.clone(),
                    discovery: entry.info.discovery.clone(),
                    container: entry.info.container.clone(),
                    health_check: entry.info.health_check.clone(),
                    kill_policy: entry.info.kill_policy.clone(),
                }
            })
            .collect()
    }

    pub fn framework_infos(&self) -> Vec<FrameworkInfo> {
        self.frameworks.values().map(|f| f.info.clone()).collect()
    }
}
