//! The agent's HTTP executors and their tasks: which are queued until the executor subscribes,
//! which are live, the executor's event stream, and what happens when it subscribes, sends an
//! update, times out, exits or is shut down. The lock is never held across an await:
//! launches and resizes run outside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::context::ExecutorContext;
use super::executor::{Executor, Key};
use super::launch::{self, Running};
use super::sizing::Sizing;
use super::timeouts::{REASON_REGISTRATION_TIMEOUT, REASON_REREGISTRATION_TIMEOUT, SHUTDOWN_GRACE};
use crate::locks::lock;
use crate::processes;
use crate::task_status::{StatusFields, new_status};
use corral_api::executor::{Event, Subscribed};
use corral_api::v1::{
    ExecutorId, FrameworkId, FrameworkInfo, Id, KillPolicy, Resource, StatusSource, TaskId,
    TaskInfo, TaskState, TaskStatus, reason,
};

/// The container of an HTTP executor, for GET_CONTAINERS.
pub struct ExecutorContainer {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub name: String,
    pub container_id: String,
    /// The executor's resources plus its live tasks'.
    pub resources: Vec<Resource>,
}

/// An UPDATE the registry took: the status to submit, the end of its task's runner (to
/// drop once it is submitted) and the container's new size (to apply first).
struct TakenUpdate {
    status: TaskStatus,
    done: Option<oneshot::Sender<()>>,
    sizing: Option<Arc<Sizing>>,
}

/// Why a call on the executor API is refused.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0}")]
    BadRequest(String),
}

pub struct Registry {
    ctx: ExecutorContext,
    executors: Mutex<HashMap<Key, Executor>>,
    /// One launch at a time per executor: a task for an executor being started waits for
    /// the start instead of starting a second one.
    launches: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    next_stream: std::sync::atomic::AtomicU64,
}

impl Registry {
    /// What checks the executors' tokens on the executor API.
    pub fn signer(&self) -> corral_http::auth::TokenSigner {
        self.ctx.signer.clone()
    }

    pub fn new(ctx: ExecutorContext) -> Registry {
        Registry {
            ctx,
            executors: Mutex::default(),
            launches: Mutex::default(),
            next_stream: Default::default(),
        }
    }

    pub fn context(&self) -> &ExecutorContext {
        &self.ctx
    }

    /// A terminal status the agent sends for a task its executor did not finish.
    fn agent_status(
        &self,
        task_id: &TaskId,
        state: TaskState,
        why: &str,
        message: String,
    ) -> TaskStatus {
        new_status(
            task_id,
            state,
            StatusSource::SourceAgent,
            self.ctx.identity.id(),
            StatusFields {
                message: Some(message),
                reason: Some(why.to_string()),
                ..Default::default()
            },
        )
    }

    /// Hands a task to its executor, starting the executor if it does not run yet. Returns
    /// the executor's key, or `None` when the task failed at once (its status is sent).
    pub async fn add_task(
        self: &Arc<Self>,
        framework: FrameworkInfo,
        task: TaskInfo,
        done: oneshot::Sender<()>,
    ) -> Option<Key> {
        let framework_id = framework.id.clone()?;
        let info = task.executor.clone()?;
        let key = (framework_id.clone(), info.executor_id.clone());
        let launch_turn = lock(&self.launches).entry(key.clone()).or_default().clone();
        let turn = launch_turn.lock().await;
        let running = lock(&self.executors).contains_key(&key);
        if !running {
            match launch::start(&self.ctx, &framework, &info, &task).await {
                Ok((executor, process)) => {
                    lock(&self.executors).insert(key.clone(), executor);
                    self.watch(key.clone(), process);
                }
                Err(message) => {
                    drop(turn);
                    self.forget_launch_turn(&key, launch_turn);
                    tracing::warn!("task {}: {message}", task.task_id);
                    let status = self.agent_status(
                        &task.task_id,
                        TaskState::TaskFailed,
                        reason::CONTAINER_LAUNCH_FAILED,
                        message,
                    );
                    self.ctx.tasks.submit_status(&framework_id, status);
                    return None;
                }
            }
        }
        drop(turn);
        self.forget_launch_turn(&key, launch_turn);
        let sizing = {
            let mut executors = lock(&self.executors);
            let executor = executors.get_mut(&key)?;
            if executor.shutting_down {
                drop(executors);
                let message = format!("executor {} is shutting down", key.1);
                let status = self.agent_status(
                    &task.task_id,
                    TaskState::TaskLost,
                    reason::EXECUTOR_TERMINATED,
                    message,
                );
                self.ctx.tasks.submit_status(&framework_id, status);
                return None;
            }
            executor.live.insert(task.task_id.clone(), done);
            executor
                .task_resources
                .insert(task.task_id.clone(), task.resources.clone());
            executor.resize(self.ctx.pids_limit)
        };
        // The container grows before the task reaches the executor.
        if let Some(sizing) = sizing {
            sizing.apply().await;
        }
        let mut executors = lock(&self.executors);
        if let Some(executor) = executors.get_mut(&key) {
            match &executor.stream {
                Some((_, stream)) => {
                    let _ = stream.send(Event::launch(task));
                }
                None => executor.queued.push(task),
            }
        }
        Some(key)
    }

    /// Watches a launched executor: its exit (then it is forgotten, its non-terminal tasks
    /// fail and its container goes) and its registration timeout.
    fn watch(self: &Arc<Self>, key: Key, mut process: Running) {
        let container_id = process.container_id.clone();
        let registry = self.clone();
        let watched = key.clone();
        self.ctx.runners.spawn(async move {
            let how = process.ended().await;
            registry.exited(&watched, &process.container_id, how);
            process.clean_up(&registry.ctx).await;
        });
        let timer = self.clone();
        let timeout = self.ctx.registration_timeout;
        let mut shutdown = self.ctx.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {
                    timer.registration_timed_out(&key, &container_id, REASON_REGISTRATION_TIMEOUT);
                }
                _ = shutdown.stopped() => {}
            }
        });
    }

    /// Drops the executor's launch turn once no other task waits for it.
    fn forget_launch_turn(&self, key: &Key, turn: Arc<tokio::sync::Mutex<()>>) {
        let mut launches = lock(&self.launches);
        // The map's reference and ours: nobody else holds or waits for it.
        if Arc::strong_count(&turn) <= 2 {
            launches.remove(key);
        }
    }

    /// A kill from the framework: KILL to a subscribed executor; a task still queued is
    /// killed by the agent.
    pub async fn kill_task(&self, key: &Key, task_id: &TaskId, grace_ms: u64) {
        let killed_while_queued = {
            let mut executors = lock(&self.executors);
            let Some(executor) = executors.get_mut(key) else {
                return;
            };
            executor.kill_requested.insert(task_id.clone());
            match executor.queued.iter().position(|t| &t.task_id == task_id) {
                Some(i) => {
                    executor.queued.remove(i);
                    let ended = executor.task_ended(task_id, self.ctx.pids_limit);
                    if executor.live.is_empty() {
                        Self::begin_shutdown(executor, key);
                    }
                    Some(ended)
                }
                None => {
                    if let Some((_, stream)) = &executor.stream {
                        let policy = KillPolicy {
                            grace_period: Some(corral_api::v1::DurationInfo {
                                nanoseconds: i64::try_from(grace_ms.saturating_mul(1_000_000))
                                    .unwrap_or(i64::MAX),
                            }),
                        };
                        let _ = stream.send(Event::kill(task_id.clone(), Some(policy)));
                    }
                    None
                }
            }
        };
        let Some((done, sizing)) = killed_while_queued else {
            return;
        };
        if let Some(sizing) = sizing {
            sizing.apply().await;
        }
        let status = self.agent_status(
            task_id,
            TaskState::TaskKilled,
            reason::TASK_KILLED_DURING_LAUNCH,
            "killed before the executor subscribed".into(),
        );
        self.ctx.tasks.submit_status(&key.0, status);
        drop(done);
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
                    tokio::time::sleep(SHUTDOWN_GRACE).await;
                    // The group is gone (ESRCH) if the executor exited meanwhile.
                    let _ = processes::signal_group(pgid, libc::SIGKILL);
                });
            }
            None => {
                let _ = processes::signal_group(pgid, libc::SIGKILL);
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
            let _ = processes::signal_group(executor.pgid, libc::SIGKILL);
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
    pub async fn subscribe(
        &self,
        key: &Key,
        unacknowledged_updates: Vec<TaskStatus>,
        stream: UnboundedSender<Event>,
    ) -> Result<u64, CallError> {
        // An executor may subscribe the moment its process runs, before the launch in
        // progress has listed it: wait for that launch, then look it up.
        let launching = lock(&self.launches).get(key).cloned();
        if let Some(turn) = launching {
            drop(turn.lock().await);
            self.forget_launch_turn(key, turn);
        }
        let (generation, resend) = self.open_stream(key, unacknowledged_updates, stream)?;
        for status in resend {
            let _ = self.update(key, status).await;
        }
        Ok(generation)
    }

    /// Makes `stream` the executor's and sends what it starts with; returns the stream's
    /// generation and the executor's updates to take again.
    fn open_stream(
        &self,
        key: &Key,
        unacknowledged_updates: Vec<TaskStatus>,
        stream: UnboundedSender<Event>,
    ) -> Result<(u64, Vec<TaskStatus>), CallError> {
        let generation = self
            .next_stream
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut executors = lock(&self.executors);
        let executor = find(&mut executors, key)?;
        let mut agent_info = self.ctx.info.clone();
        agent_info.id = self.ctx.identity.id();
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
        Ok((generation, resend))
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
    pub async fn update(&self, key: &Key, status: TaskStatus) -> Result<(), CallError> {
        let taken = self.take_update(key, status)?;
        // The container shrinks before the executor hears its update was taken.
        if let Some(sizing) = taken.sizing {
            sizing.apply().await;
        }
        self.ctx.tasks.submit_status(&key.0, taken.status);
        drop(taken.done);
        Ok(())
    }

    /// Checks an UPDATE and records it with the executor; a terminal one ends its task.
    fn take_update(&self, key: &Key, mut status: TaskStatus) -> Result<TakenUpdate, CallError> {
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
        status.agent_id = self.ctx.identity.id();
        if status.timestamp.is_none() {
            status.timestamp = Some(crate::task_status::now_secs());
        }
        executor.unacknowledged.insert(uuid, status.task_id.clone());
        let (mut done, mut sizing) = (None, None);
        if status.state.is_terminal() {
            (done, sizing) = executor.task_ended(&status.task_id, self.ctx.pids_limit);
            let killed_last =
                executor.live.is_empty() && executor.kill_requested.contains(&status.task_id);
            if killed_last {
                Self::begin_shutdown(executor, key);
            }
        }
        Ok(TakenUpdate {
            status,
            done,
            sizing,
        })
    }

    /// Every executor's container with the resources it is sized to.
    pub fn containers(&self) -> Vec<ExecutorContainer> {
        lock(&self.executors)
            .iter()
            .map(
                |((framework_id, executor_id), executor)| ExecutorContainer {
                    framework_id: framework_id.clone(),
                    executor_id: executor_id.clone(),
                    name: executor.info.name.clone().unwrap_or_default(),
                    container_id: executor.container_id.clone(),
                    resources: executor.resources(),
                },
            )
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
    pub(super) fn adopt(&self, key: Key, mut executor: Executor) {
        for task_id in executor.live.keys() {
            // The executor's updates still waiting for the framework: their
            // acknowledgements go back to the executor.
            for status in self.ctx.tasks.pending_updates(&key.0, task_id) {
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
    pub(super) fn registration_timed_out(&self, key: &Key, container_id: &str, why: &str) {
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
        let _ = processes::signal_group(executor.pgid, libc::SIGKILL);
        drop(executors);
        let timeout = if why == REASON_REREGISTRATION_TIMEOUT {
            "reregistration timeout after the agent restarted"
        } else {
            "registration timeout"
        };
        for (task_id, done) in tasks {
            let message = format!("Executor {} did not subscribe within the {timeout}", key.1);
            let status = self.agent_status(&task_id, TaskState::TaskFailed, why, message);
            self.ctx.tasks.submit_status(&key.0, status);
            drop(done);
        }
    }

    /// The executor process ended: it is forgotten and its tasks that are not terminal fail.
    pub(super) fn exited(&self, key: &Key, container_id: &str, how: String) {
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
            let status = self.agent_status(
                &task_id,
                TaskState::TaskFailed,
                reason::EXECUTOR_TERMINATED,
                message,
            );
            self.ctx.tasks.submit_status(&key.0, status);
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
