//! Mesos HTTP executors: a task with an `executor` (ExecutorInfo with a command) runs under
//! that executor process, started once per (framework, executor id) in its own container and
//! sandbox, which speaks `POST /api/v1/executor` back to the agent (see `api.rs`).
//!
//! Each such task still has a runner in the agent's task table (so kills, status updates and
//! framework shutdown go the usual way); the runner only hands the task to its executor and
//! waits until the task is terminal. A restarted agent (`--recover=reconnect`) adopts the
//! executors still running with their non-terminal tasks and waits for them to subscribe
//! again (see `recover.rs`).

pub mod api;
pub mod checkpoint;
mod launch;
pub mod recover;
mod registry;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use super::checkpoint::path_component;
use super::shared::AgentShared;
use super::task_runner::RunnerInput;
use corral_api::v1::{ExecutorId, FrameworkId, FrameworkInfo, TaskInfo};

pub use registry::{Key, Registry};

/// Mesos' `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`.
pub const REASON_REREGISTRATION_TIMEOUT: &str = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT";
/// Mesos' `--executor_reregistration_timeout` default: how long a restarted agent waits for
/// the executors it found running to subscribe again.
pub const DEFAULT_REREGISTRATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Mesos' `REASON_EXECUTOR_REGISTRATION_TIMEOUT`.
pub const REASON_REGISTRATION_TIMEOUT: &str = "REASON_EXECUTOR_REGISTRATION_TIMEOUT";
/// Mesos' `--executor_registration_timeout` default.
pub const DEFAULT_REGISTRATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Mesos' `--executor_shutdown_grace_period` default: SHUTDOWN, then this long, then SIGKILL.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The executor's sandbox: `<work_dir>/sandboxes/<framework>/executors/<executor id>`.
pub fn executor_sandbox(
    work_dir: &Path,
    framework_id: &FrameworkId,
    executor: &ExecutorId,
) -> PathBuf {
    work_dir
        .join("sandboxes")
        .join(path_component(&framework_id.value))
        .join("executors")
        .join(path_component(&executor.value))
}

/// The runner of a task that names an executor, and the sender that reaches its inbox.
pub fn runner(
    shared: Arc<AgentShared>,
    framework: FrameworkInfo,
    task: TaskInfo,
) -> (BoxFuture<'static, ()>, UnboundedSender<RunnerInput>) {
    let (inbox_tx, mut inbox) = unbounded_channel::<RunnerInput>();
    let run = async move {
        let Some(framework_id) = framework.id.clone() else {
            return;
        };
        let task_id = task.task_id.clone();
        let (done_tx, mut done) = oneshot::channel::<()>();
        let key = shared
            .http_executors
            .add_task(&shared, framework, task, done_tx);
        if let Some(key) = key {
            // Checkpointed, so that a restarted agent reports the task.
            shared.save_container(&framework_id, &task_id);
            follow(&shared, &key, &task_id, &mut done, &mut inbox).await;
        }
        shared.runner_finished(&framework_id, &task_id);
    };
    (Box::pin(run), inbox_tx)
}

/// The runner of a task whose executor was adopted after an agent restart: it waits, as a
/// new task's runner does, until the task is terminal (`done` is dropped).
pub fn recovered_runner(
    shared: Arc<AgentShared>,
    key: registry::Key,
    task_id: corral_api::v1::TaskId,
    mut done: oneshot::Receiver<()>,
) -> (BoxFuture<'static, ()>, UnboundedSender<RunnerInput>) {
    let (inbox_tx, mut inbox) = unbounded_channel::<RunnerInput>();
    let run = async move {
        follow(&shared, &key, &task_id, &mut done, &mut inbox).await;
        shared.runner_finished(&key.0, &task_id);
    };
    (Box::pin(run), inbox_tx)
}

/// Passes kills to the executor until the task is terminal or the agent stops.
async fn follow(
    shared: &Arc<AgentShared>,
    key: &registry::Key,
    task_id: &corral_api::v1::TaskId,
    done: &mut oneshot::Receiver<()>,
    inbox: &mut tokio::sync::mpsc::UnboundedReceiver<RunnerInput>,
) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            input = inbox.recv() => match input {
                Some(RunnerInput::Kill(grace_ms)) => {
                    shared.http_executors.kill_task(shared, key, task_id, grace_ms);
                }
                Some(_) => {}
                None => break,
            },
            _ = &mut *done => break,
            _ = super::stopped(&mut shutdown) => {
                shared.http_executors.kill_all();
                break;
            }
        }
    }
}
