//! One HTTP executor as the agent keeps it: its container, its tasks (queued until it
//! subscribes, then live), its event stream, and what is asked of it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::sizing::Sizing;
use corral_api::executor::Event;
use corral_api::v1::{
    ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Resource, TaskId, TaskInfo,
};
use corral_cgroups::{Container, Limits};

pub type Key = (FrameworkId, ExecutorId);

pub struct Executor {
    pub info: ExecutorInfo,
    pub framework: FrameworkInfo,
    pub container_id: String,
    /// Resizes the executor's cgroups (`None` under posix isolation).
    pub sizing: Option<Arc<Sizing>>,
    /// The resources of each non-terminal task: the container is sized to the executor's
    /// plus these, as Mesos does.
    pub task_resources: HashMap<TaskId, Vec<Resource>>,
    /// The executor's process group.
    pub pgid: u32,
    /// The current subscription's event stream and its generation.
    pub stream: Option<(u64, UnboundedSender<Event>)>,
    pub subscribed_once: bool,
    /// Tasks given before the executor subscribed, launched when it does.
    pub queued: Vec<TaskInfo>,
    /// Non-terminal tasks; dropping the sender ends the task's runner.
    pub live: HashMap<TaskId, oneshot::Sender<()>>,
    /// Tasks whose kill was asked (a kill of the last one shuts the executor down).
    pub kill_requested: HashSet<TaskId>,
    /// Uuids of the executor's updates not yet acknowledged, with their task.
    pub unacknowledged: HashMap<String, TaskId>,
    pub shutting_down: bool,
}

impl Executor {
    /// An executor whose process runs (just launched, or found after an agent restart) and
    /// has not subscribed yet.
    pub fn new(
        info: ExecutorInfo,
        framework: FrameworkInfo,
        container_id: String,
        cgroups: Option<Arc<Mutex<Container>>>,
        pgid: u32,
    ) -> Executor {
        let sizing = cgroups.map(|c| Arc::new(Sizing::new(c, info.executor_id.value.clone())));
        Executor {
            info,
            framework,
            container_id,
            sizing,
            task_resources: HashMap::new(),
            pgid,
            stream: None,
            subscribed_once: false,
            queued: Vec::new(),
            live: HashMap::new(),
            kill_requested: HashSet::new(),
            unacknowledged: HashMap::new(),
            shutting_down: false,
        }
    }

    /// The executor's resources plus its live tasks'.
    pub fn resources(&self) -> Vec<Resource> {
        let mut resources = self.info.resources.clone();
        resources.extend(self.task_resources.values().flatten().cloned());
        resources
    }

    /// Asks for the container to be sized to [`Executor::resources`]; the caller awaits the
    /// returned [`Sizing::apply`] once the registry's lock is released. `None` without
    /// cgroups, or for resources that make no limits (logged).
    pub fn resize(&self, pids_limit: u64) -> Option<Arc<Sizing>> {
        let sizing = self.sizing.as_ref()?;
        match Limits::for_task(&self.resources(), pids_limit) {
            Ok(limits) => {
                sizing.want(limits);
                Some(sizing.clone())
            }
            Err(e) => {
                tracing::warn!(
                    "executor {}: cannot resize its container: {e}",
                    self.info.executor_id
                );
                None
            }
        }
    }

    /// A task of the executor is terminal: it leaves `live` (its runner ends when the
    /// returned sender is dropped) and the container shrinks (await the returned sizing).
    pub fn task_ended(
        &mut self,
        task_id: &TaskId,
        pids_limit: u64,
    ) -> (Option<oneshot::Sender<()>>, Option<Arc<Sizing>>) {
        let done = self.live.remove(task_id);
        let sizing = match self.task_resources.remove(task_id) {
            Some(_) => self.resize(pids_limit),
            None => None,
        };
        (done, sizing)
    }
}
