//! The agent's HTTP executors and their tasks: which are queued until the executor subscribes,
//! which are live, the executor's event stream, and what happens when it subscribes, sends an
//! update, times out, exits or is shut down. The lock is never held across an await.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::super::lock;
use super::super::shared::AgentShared;
use super::super::tasks::{StatusFields, new_status};
use super::launch;
use corral_api::executor::{Event, Subscribed};
use corral_api::v1::{
    ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Id, KillPolicy, Resource, StatusSource,
    TaskId, TaskInfo, TaskState, TaskStatus, reason,
};
use corral_cgroups::{Container, Limits};

pub type Key = (FrameworkId, ExecutorId);

pub(super) struct Executor {
    pub info: ExecutorInfo,
    pub framework: FrameworkInfo,
    pub container_id: String,
    /// The executor's cgroups (`None` under posix isolation), shared with its exit watcher.
    pub cgroups: Option<Arc<Mutex<Container>>>,
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
        Executor {
            info,
            framework,
            container_id,
            cgroups,
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

    /// Sizes the container to the executor's resources plus its tasks' (a failure, such as
    /// memory below what is in use, is logged: the old limits stay).
    fn resize(&self, pids_limit: u64) {
        let Some(cgroups) = &self.cgroups else {
            return;
        };
        let mut resources = self.info.resources.clone();
        resources.extend(self.task_resources.values().flatten().cloned());
        let resized = Limits::for_task(&resources, pids_limit)
            .and_then(|limits| lock(cgroups).resize(&limits).map_err(|e| e.to_string()));
        if let Err(e) = resized {
            tracing::warn!(
                "executor {}: cannot resize its container: {e}",
                self.info.executor_id
            );
        }
    }

    /// A task of the executor is terminal: it leaves `live` (its runner ends when the
    /// returned sender is dropped) and the container shrinks.
    fn task_ended(&mut self, task_id: &TaskId, pids_limit: u64) -> Option<oneshot::Sender<()>> {
        let done = self.live.remove(task_id);
        if self.task_resources.remove(task_id).is_some() {
            self.resize(pids_limit);
        }
        done
    }
}

/// The container of an HTTP executor, for GET_CONTAINERS.
pub struct ExecutorContainer {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub name: String,
    pub container_id: String,
    /// The executor's resources plus its live tasks'.
    pub resources: Vec<Resource>,
}

/// Why a call on the executor API is refused.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0}")]
    BadRequest(String),
}

#[derive(Default)]
pub struct Registry {
    executors: Mutex<HashMap<Key, Executor>>,
    next_stream: std::sync::atomic::AtomicU64,
}

/// A terminal status the agent sends for a task its executor did not finish.
fn agent_status(
    shared: &AgentShared,
    task_id: &TaskId,
    state: TaskState,
    why: &str,
    message: String,
) -> TaskStatus {
    new_status(
        task_id,
        state,
        StatusSource::SourceAgent,
        shared.agent_id(),
        StatusFields {
            message: Some(message),
            reason: Some(why.to_string()),
            ..Default::default()
        },
    )
}

impl Registry {
    /// Hands a task to its executor, starting the executor if it does not run yet. Returns
    /// the executor's key, or `None` when the task failed at once (its status is sent).
    pub fn add_task(
        &self,
        shared: &Arc<AgentShared>,
        framework: FrameworkInfo,
        task: TaskInfo,
        done: oneshot::Sender<()>,
    ) -> Option<Key> {
        let framework_id = framework.id.clone()?;
        let info = task.executor.clone()?;
        let key = (framework_id.clone(), info.executor_id.clone());
        let mut executors = lock(&self.executors);
        if !executors.contains_key(&key) {
            match launch::start(shared, &framework, &info, &task) {
                Ok(executor) => {
                    executors.insert(key.clone(), executor);
                }
                Err(message) => {
                    drop(executors);
                    tracing::warn!("task {}: {message}", task.task_id);
                    let status = agent_status(
                        shared,
                        &task.task_id,
                        TaskState::TaskFailed,
                        reason::CONTAINER_LAUNCH_FAILED,
                        message,
                    );
                    shared.submit_status(&framework_id, status);
                    return None;
                }
            }
        }
        let executor = executors.get_mut(&key)?;
        if executor.shutting_down {
            drop(executors);
            let message = format!("executor {} is shutting down", key.1);
            let status = agent_status(
                shared,
                &task.task_id,
                TaskState::TaskLost,
                reason::EXECUTOR_TERMINATED,
                message,
            );
            shared.submit_status(&framework_id, status);
            return None;
        }
        executor.live.insert(task.task_id.clone(), done);
        executor
            .task_resources
            .insert(task.task_id.clone(), task.resources.clone());
        executor.resize(shared.config.isolation.pids_limit);
        match &executor.stream {
            Some((_, stream)) => {
                let _ = stream.send(Event::launch(task));
            }
            None => executor.queued.push(task),
        }
        Some(key)
    }

    /// A kill from the framework: KILL to a subscribed executor; a task still queued is
    /// killed by the agent.
    pub fn kill_task(&self, shared: &AgentShared, key: &Key, task_id: &TaskId, grace_ms: u64) {
        let mut executors = lock(&self.executors);
        let Some(executor) = executors.get_mut(key) else {
            return;
        };
        executor.kill_requested.insert(task_id.clone());
        if let Some(i) = executor.queued.iter().position(|t| &t.task_id == task_id) {
            executor.queued.remove(i);
            let done = executor.task_ended(task_id, shared.config.isolation.pids_limit);
            let idle = executor.live.is_empty();
            if idle {
                Self::begin_shutdown(executor, key);
            }
            drop(executors);
            let status = agent_status(
                shared,
                task_id,
                TaskState::TaskKilled,
                reason::TASK_KILLED_DURING_LAUNCH,
                "killed before the executor subscribed".into(),
            );
            shared.submit_status(&key.0, status);
            drop(done);
            return;
        }
        if let Some((_, stream)) = &executor.stream {
            let policy = KillPolicy {
                grace_period: Some(corral_api::v1::DurationInfo {
                    nanoseconds: i64::try_from(grace_ms.saturating_mul(1_000_000))
                        .unwrap_or(i64::MAX),
                }),
            };
            let _ = stream.send(Event::kill(task_id.clone(), Some(policy)));
        }
    }

    /// SHUTDOWN to the executor, then SIGKILL after the grace period if it is still there.
    fn begin_shutdown(executor: &mut Executor, key: &Key) {
        if executor.shutting_down {
            return;
        }
        executor.shutting_down = true;
        tracing::info!("shutting down executor {} of framework {}", key.1, key.0);
        let pgid = executor.pgid;
        match &executor.stream {
            Some((_, stream)) => {
                let _ = stream.send(Event::shutdown());
                tokio::spawn(async move {
                    tokio::time::sleep(super::SHUTDOWN_GRACE).await;
                    // The group is gone (ESRCH) if the executor exited meanwhile.
                    let _ = super::super::processes::signal_group(pgid, libc::SIGKILL);
                });
            }
            None => {
                let _ = super::super::processes::signal_group(pgid, libc::SIGKILL);
            }
        }
    }

    /// Shuts down every executor of a framework being torn down.
    pub fn shutdown_framework(&self, framework_id: &FrameworkId) {
        let mut executors = lock(&self.executors);
        for (key, executor) in executors.iter_mut() {
            if &key.0 == framework_id {
                Self::begin_shutdown(executor, key);
            }
        }
    }

    /// Kills every executor at once (the agent is stopping).
    pub fn kill_all(&self) {
        for executor in lock(&self.executors).values() {
            let _ = super::super::processes::signal_group(executor.pgid, libc::SIGKILL);
        }
    }

    /// A framework acknowledged an update; tells the executor that sent it.
    pub fn acknowledged(&self, framework_id: &FrameworkId, task_id: &TaskId, uuid: &str) {
        let mut executors = lock(&self.executors);
        for (key, executor) in executors.iter_mut() {
            if &key.0 != framework_id || executor.unacknowledged.remove(uuid).is_none() {
                continue;
            }
            if let Some((_, stream)) = &executor.stream {
                let _ = stream.send(Event::acknowledged(task_id.clone(), uuid.to_string()));
            }
        }
    }

    /// SUBSCRIBE: a new event stream for the executor; it starts with SUBSCRIBED, then the
    /// queued tasks. Returns the stream's generation (to tell its end from a newer one's).
    pub fn subscribe(
        &self,
        shared: &AgentShared,
        key: &Key,
        unacknowledged_updates: Vec<TaskStatus>,
        stream: UnboundedSender<Event>,
    ) -> Result<u64, CallError> {
        let generation = self
            .next_stream
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut executors = lock(&self.executors);
        let executor = find(&mut executors, key)?;
        let mut agent_info = shared.info.clone();
        agent_info.id = shared.agent_id();
        let mut framework_info = executor.framework.clone();
        framework_info.id = Some(key.0.clone());
        let mut executor_info = executor.info.clone();
        executor_info.framework_id = Some(key.0.clone());
        let _ = stream.send(Event::subscribed(Subscribed {
            executor_info,
            framework_info,
            agent_info,
            container_id: Some(Id::new(executor.container_id.clone())),
        }));
        for task in executor.queued.drain(..) {
            let _ = stream.send(Event::launch(task));
        }
        if executor.shutting_down {
            let _ = stream.send(Event::shutdown());
        }
        tracing::info!(
            "executor {} of framework {} subscribed{}",
            key.1,
            key.0,
            if executor.subscribed_once {
                " again"
            } else {
                ""
            }
        );
        executor.subscribed_once = true;
        executor.stream = Some((generation, stream));
        // Updates the agent never got (it answered 202 and lost them, or they were in flight).
        let resend: Vec<TaskStatus> = unacknowledged_updates
            .into_iter()
            .filter(|s| {
                s.uuid
                    .as_ref()
                    .is_some_and(|u| !executor.unacknowledged.contains_key(u))
            })
            .collect();
        drop(executors);
        for status in resend {
            let _ = self.update(shared, key, status);
        }
        Ok(generation)
    }

    /// The subscription stream `generation` ended (the executor went away from it).
    pub fn stream_closed(&self, key: &Key, generation: u64) {
        let mut executors = lock(&self.executors);
        if let Some(executor) = executors.get_mut(key)
            && executor
                .stream
                .as_ref()
                .is_some_and(|(g, _)| *g == generation)
        {
            executor.stream = None;
        }
    }

    /// UPDATE: the executor's status of one of its tasks goes through the status update
    /// manager to the framework.
    pub fn update(
        &self,
        shared: &AgentShared,
        key: &Key,
        mut status: TaskStatus,
    ) -> Result<(), CallError> {
        let mut executors = lock(&self.executors);
        let executor = find(&mut executors, key)?;
        let Some(uuid) = status.uuid.clone() else {
            return Err(CallError::BadRequest(
                "Expecting 'uuid' to be present in the status update".into(),
            ));
        };
        if status.state == TaskState::TaskStaging {
            return Err(CallError::BadRequest(
                "Received TASK_STAGING from executor which is not allowed".into(),
            ));
        }
        if !executor.live.contains_key(&status.task_id) {
            return Err(CallError::BadRequest(format!(
                "Task {} is not a live task of executor {}",
                status.task_id, key.1
            )));
        }
        status.source = Some(StatusSource::SourceExecutor);
        status.executor_id = Some(key.1.clone());
        status.agent_id = shared.agent_id();
        if status.timestamp.is_none() {
            status.timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs_f64());
        }
        executor.unacknowledged.insert(uuid, status.task_id.clone());
        let mut done = None;
        if status.state.is_terminal() {
            done = executor.task_ended(&status.task_id, shared.config.isolation.pids_limit);
            let killed_last =
                executor.live.is_empty() && executor.kill_requested.contains(&status.task_id);
            if killed_last {
                Self::begin_shutdown(executor, key);
            }
        }
        drop(executors);
        shared.submit_status(&key.0, status);
        drop(done);
        Ok(())
    }

    /// Every executor's container with the resources it is sized to.
    pub fn containers(&self) -> Vec<ExecutorContainer> {
        lock(&self.executors)
            .iter()
            .map(|((framework_id, executor_id), executor)| {
                let mut resources = executor.info.resources.clone();
                resources.extend(executor.task_resources.values().flatten().cloned());
                ExecutorContainer {
                    framework_id: framework_id.clone(),
                    executor_id: executor_id.clone(),
                    name: executor.info.name.clone().unwrap_or_default(),
                    container_id: executor.container_id.clone(),
                    resources,
                }
            })
            .collect()
    }

    /// Whether the executor exists.
    pub fn check(&self, key: &Key) -> Result<(), CallError> {
        find(&mut lock(&self.executors), key).map(|_| ())
    }

    /// A framework's message for the executor: a MESSAGE event if it is subscribed, else
    /// dropped (as Mesos does).
    pub fn framework_message(&self, key: &Key, data: String) {
        let executors = lock(&self.executors);
        match executors.get(key).and_then(|e| e.stream.as_ref()) {
            Some((_, stream)) => {
                let _ = stream.send(Event::message(data));
            }
            None => tracing::info!(
                "dropping a framework message for executor {} of framework {}: not subscribed",
                key.1,
                key.0
            ),
        }
    }

    /// An executor a restarted agent found running, with its non-terminal tasks (each ends
    /// when its returned sender is dropped). It waits for the executor to subscribe again.
    pub(super) fn adopt(&self, shared: &AgentShared, key: Key, mut executor: Executor) {
        for task_id in executor.live.keys() {
            // The executor's updates still waiting for the framework: their
            // acknowledgements go back to the executor.
            for status in shared.updates.pending(&key.0, task_id) {
                if status.source == Some(StatusSource::SourceExecutor)
                    && let Some(uuid) = status.uuid
                {
                    executor.unacknowledged.insert(uuid, task_id.clone());
                }
            }
        }
        lock(&self.executors).insert(key, executor);
    }

    /// The executor did not subscribe within the (re)registration timeout: kill it and fail
    /// its tasks with `why` (REASON_EXECUTOR_REGISTRATION_TIMEOUT, or _REREGISTRATION_ after
    /// an agent restart).
    pub(super) fn registration_timed_out(
        &self,
        shared: &AgentShared,
        key: &Key,
        container_id: &str,
        why: &str,
    ) {
        let mut executors = lock(&self.executors);
        let Some(executor) = executors.get_mut(key) else {
            return;
        };
        if executor.container_id != container_id || executor.subscribed_once {
            return;
        }
        tracing::warn!(
            "executor {} of framework {} did not subscribe in time",
            key.1,
            key.0
        );
        executor.shutting_down = true;
        executor.queued.clear();
        let tasks: Vec<_> = executor.live.drain().collect();
        let _ = super::super::processes::signal_group(executor.pgid, libc::SIGKILL);
        drop(executors);
        let timeout = if why == super::REASON_REREGISTRATION_TIMEOUT {
            "reregistration timeout after the agent restarted"
        } else {
            "registration timeout"
        };
        for (task_id, done) in tasks {
            let message = format!("Executor {} did not subscribe within the {timeout}", key.1);
            let status = agent_status(shared, &task_id, TaskState::TaskFailed, why, message);
            shared.submit_status(&key.0, status);
            drop(done);
        }
    }

    /// The executor process ended: it is forgotten and its tasks that are not terminal fail.
    pub(super) fn exited(&self, shared: &AgentShared, key: &Key, container_id: &str, how: String) {
        let mut executors = lock(&self.executors);
        if executors
            .get(key)
            .is_none_or(|e| e.container_id != container_id)
        {
            return;
        }
        let Some(executor) = executors.remove(key) else {
            return;
        };
        drop(executors);
        tracing::info!("executor {} of framework {} {how}", key.1, key.0);
        for (task_id, done) in executor.live {
            let message = format!("Executor {} {how}", key.1);
            let status = agent_status(
                shared,
                &task_id,
                TaskState::TaskFailed,
                reason::EXECUTOR_TERMINATED,
                message,
            );
            shared.submit_status(&key.0, status);
            drop(done);
        }
    }
}

fn find<'a>(
    executors: &'a mut HashMap<Key, Executor>,
    key: &Key,
) -> Result<&'a mut Executor, CallError> {
    // Both are 400 in Mesos ("Framework cannot be found", "Executor cannot be found").
    if !executors.keys().any(|(fw, _)| fw == &key.0) {
        return Err(CallError::BadRequest(format!(
            "Framework cannot be found: {} has no executors on this agent",
            key.0
        )));
    }
    executors.get_mut(key).ok_or_else(|| {
        CallError::BadRequest(format!(
            "Executor cannot be found: {} of framework {}",
            key.1, key.0
        ))
    })
}
