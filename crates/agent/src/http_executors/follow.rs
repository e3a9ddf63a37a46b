//! The runner of a task that names an executor. It has a place in the agent's task table
//! like any task's (so kills, status updates and framework shutdown go the usual way), but
//! only hands the task to its executor and waits until the task is terminal.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use super::executor::Key;
use super::registry::Registry;
use crate::runner_input::RunnerInput;
use corral_api::v1::{FrameworkInfo, TaskId, TaskInfo};

/// The runner of a new task, and the sender that reaches its inbox.
pub fn runner(
    registry: Arc<Registry>,
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
        let key = registry.add_task(framework, task, done_tx).await;
        let tasks = registry.context().tasks.clone();
        if let Some(key) = key {
            // Checkpointed, so that a restarted agent reports the task.
            if let Some(saved) = tasks.save_container(&framework_id, &task_id) {
                let _ = saved.done().await;
            }
            follow(&registry, &key, &task_id, &mut done, &mut inbox).await;
        }
        tasks.runner_finished(&framework_id, &task_id);
    };
    (Box::pin(run), inbox_tx)
}

/// The runner of a task whose executor was adopted after an agent restart: it waits, as a
/// new task's runner does, until the task is terminal (`done` is dropped).
pub fn recovered_runner(
    registry: Arc<Registry>,
    key: Key,
    task_id: TaskId,
    mut done: oneshot::Receiver<()>,
) -> (BoxFuture<'static, ()>, UnboundedSender<RunnerInput>) {
    let (inbox_tx, mut inbox) = unbounded_channel::<RunnerInput>();
    let run = async move {
        follow(&registry, &key, &task_id, &mut done, &mut inbox).await;
        registry.context().tasks.runner_finished(&key.0, &task_id);
    };
    (Box::pin(run), inbox_tx)
}

/// Passes kills to the executor until the task is terminal or the agent stops.
async fn follow(
    registry: &Arc<Registry>,
    key: &Key,
    task_id: &TaskId,
    done: &mut oneshot::Receiver<()>,
    inbox: &mut UnboundedReceiver<RunnerInput>,
) {
    let mut shutdown = registry.context().shutdown.clone();
    loop {
        tokio::select! {
            input = inbox.recv() => match input {
                Some(RunnerInput::Kill(grace_ms)) => registry.kill_task(key, task_id, grace_ms).await,
                Some(_) => {}
                None => break,
            },
            _ = &mut *done => break,
            _ = shutdown.stopped() => {
                registry.kill_all();
                break;
            }
        }
    }
}
