//! Executors after an agent restart (`--recover=reconnect`, Mesos' agent recovery): an
//! executor still running with non-terminal tasks is adopted. Its entry waits for the
//! executor library to subscribe again (with its unacknowledged tasks and updates, so a
//! task that ended while the agent was down is reported with its true state) within
//! `--executor-reregistration-timeout` (a Mesos duration such as `2secs`); one that does not
//! is killed and its tasks fail with REASON_EXECUTOR_REREGISTRATION_TIMEOUT. Its process is
//! watched by pid (it is not this agent's child); when it ends, its cgroups and checkpoint
//! go.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::checkpoint::{self, ExecutorCheckpoint};
use super::executor::{Executor, Key};
use super::registry::Registry;
use super::timeouts::REASON_REREGISTRATION_TIMEOUT;
use crate::isolators;
use crate::supervisor;
use corral_api::v1::{ExecutorInfo, FrameworkInfo, TaskId, TaskInfo};

/// How often an adopted executor's pid is looked at.
const POLL: Duration = Duration::from_millis(200);

/// Adopts a running executor with its tasks; returns each task's end signal.
pub fn adopt(
    registry: &Arc<Registry>,
    saved: ExecutorCheckpoint,
    framework: FrameworkInfo,
    info: ExecutorInfo,
    tasks: &[TaskInfo],
) -> Vec<(TaskId, oneshot::Receiver<()>)> {
    let ctx = registry.context();
    let key: Key = (saved.framework_id.clone(), saved.executor_id.clone());
    // Only looks whether the container's cgroup directories are there (kernel memory).
    let cgroups = ctx.cgroups.adopt(&saved.container_id, None);
    let mut executor = Executor::new(
        info,
        framework,
        saved.container_id.clone(),
        cgroups.map(|c| Arc::new(Mutex::new(c))),
        saved.pgid,
    );
    let mut ends = Vec::new();
    for task in tasks {
        let (done, end) = oneshot::channel();
        executor.live.insert(task.task_id.clone(), done);
        executor
            .task_resources
            .insert(task.task_id.clone(), task.resources.clone());
        ends.push((task.task_id.clone(), end));
    }
    tracing::info!(
        "adopted executor {} of framework {} with {} tasks; waiting for it to subscribe again",
        key.1,
        key.0,
        ends.len()
    );
    registry.adopt(key.clone(), executor);
    tokio::spawn(watch(registry.clone(), key.clone(), saved.clone()));
    let timer = registry.clone();
    let timeout = ctx.reregistration_timeout;
    let mut shutdown = ctx.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(timeout) => timer.registration_timed_out(
                &key,
                &saved.container_id,
                REASON_REREGISTRATION_TIMEOUT,
            ),
            _ = shutdown.stopped() => {}
        }
    });
    ends
}

/// Waits for the adopted executor's process to end, then forgets it (failing its
/// non-terminal tasks) and removes its cgroups and checkpoint.
async fn watch(registry: Arc<Registry>, key: Key, saved: ExecutorCheckpoint) {
    let ctx = registry.context();
    let mut shutdown = ctx.shutdown.clone();
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !supervisor::is_alive(saved.supervisor_pid, saved.supervisor_start) {
                    break;
                }
            }
            // The agent stops: it kills its executors; its cgroups go when it releases them.
            _ = shutdown.stopped() => return,
        }
    }
    let exit_file = checkpoint::exit_file(&ctx.work_dir, &saved.container_id);
    let exit = supervisor::read_exit_async(&exit_file).await;
    let how = match exit.map(|e| (e.code, e.signal)) {
        Some((Some(code), _)) => format!("exited with status {code}"),
        Some((None, Some(signal))) => format!("was killed by signal {signal}"),
        _ => "ended".to_string(),
    };
    registry.exited(&key, &saved.container_id, how);
    // The isolator plugins recovered this container at start: they release it (a GPU
    // plugin frees its GPUs) and its devices cgroup goes.
    let (cgroups, isolator_set) = (ctx.cgroups.clone(), ctx.isolators.clone());
    let container_id = saved.container_id.clone();
    let executor = key.1.clone();
    let cleaned = tokio::task::spawn_blocking(move || {
        if !isolator_set.is_empty() {
            let relative = cgroups.container_relative(&container_id);
            let prepared = isolators::adopted(&isolator_set, relative.as_deref());
            isolators::cleanup(prepared, &container_id);
        }
        if let Some(container) = cgroups.adopt(&container_id, None)
            && let Err(e) = container.destroy()
        {
            tracing::error!("executor {executor}: cannot remove its cgroups: {e}");
        }
    })
    .await;
    if let Err(e) = cleaned {
        tracing::error!("executor {}: removing its container panicked: {e}", key.1);
    }
    let _ = checkpoint::remove(&ctx.writer, &ctx.work_dir, &saved.container_id)
        .done()
        .await;
}
