//! Executors after an agent restart (`--recover=reconnect`, Mesos' agent recovery): an
//! executor still running with non-terminal tasks is adopted. Its entry waits for the
//! executor library to subscribe again (with its unacknowledged tasks and updates, so a
//! task that ended while the agent was down is reported with its true state) within
//! `--executor-reregistration-timeout` (a Mesos duration such as `2secs`); one that does not
//! is killed and its tasks fail with REASON_EXECUTOR_REREGISTRATION_TIMEOUT. Its process is watched by pid (it is not this
//! agent's child); when it ends, its cgroups and checkpoint go.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::super::isolators;
use super::super::shared::AgentShared;
use super::super::supervisor;
use super::checkpoint::{self, ExecutorCheckpoint};
use super::registry::{Executor, Key};
use corral_api::v1::{ExecutorInfo, FrameworkInfo, TaskId, TaskInfo};

/// How often an adopted executor's pid is looked at.
const POLL: Duration = Duration::from_millis(200);

/// Adopts a running executor with its tasks; returns each task's end signal.
pub fn adopt(
    shared: &Arc<AgentShared>,
    saved: ExecutorCheckpoint,
    framework: FrameworkInfo,
    info: ExecutorInfo,
    tasks: &[TaskInfo],
) -> Vec<(TaskId, oneshot::Receiver<()>)> {
    let key: Key = (saved.framework_id.clone(), saved.executor_id.clone());
    let cgroups = shared
        .isolator
        .adopt(&shared.cgroup_name(), &saved.container_id, None);
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
    shared.http_executors.adopt(shared, key.clone(), executor);
    tokio::spawn(watch(shared.clone(), key.clone(), saved.clone()));
    let timer = shared.clone();
    let timeout = shared.config.recovery.executor_reregistration_timeout;
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        timer.http_executors.registration_timed_out(
            &timer,
            &key,
            &saved.container_id,
            super::REASON_REREGISTRATION_TIMEOUT,
        );
    });
    ends
}

/// Waits for the adopted executor's process to end, then forgets it (failing its
/// non-terminal tasks) and removes its cgroups and checkpoint.
async fn watch(shared: Arc<AgentShared>, key: Key, saved: ExecutorCheckpoint) {
    let mut shutdown = shared.shutdown.clone();
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !supervisor::is_alive(saved.supervisor_pid, saved.supervisor_start) {
                    break;
                }
            }
            // The agent stops: it kills its executors; nothing is left to watch.
            _ = super::super::stopped(&mut shutdown) => return,
        }
    }
    let work_dir = &shared.config.work_dir;
    let exit = supervisor::read_exit(&checkpoint::exit_file(work_dir, &saved.container_id));
    let how = match exit.map(|e| (e.code, e.signal)) {
        Some((Some(code), _)) => format!("exited with status {code}"),
        Some((None, Some(signal))) => format!("was killed by signal {signal}"),
        _ => "ended".to_string(),
    };
    shared
        .http_executors
        .exited(&shared, &key, &saved.container_id, how);
    // The isolator plugins recovered this container at start: they release it (a GPU
    // plugin frees its GPUs) and its devices cgroup goes.
    if !shared.config.isolators.is_empty() {
        let relative = shared
            .isolator
            .container_relative(&shared.cgroup_name(), &saved.container_id);
        let prepared = isolators::adopted(&shared.config.isolators, relative.as_deref());
        let id = saved.container_id.clone();
        let _ = tokio::task::spawn_blocking(move || isolators::cleanup(prepared, &id)).await;
    }
    if let Some(container) = shared
        .isolator
        .adopt(&shared.cgroup_name(), &saved.container_id, None)
    {
        let removed = tokio::task::spawn_blocking(move || container.destroy()).await;
        if let Ok(Err(e)) = removed {
            tracing::error!("executor {}: cannot remove its cgroups: {e}", key.1);
        }
    }
    checkpoint::remove(work_dir, &saved.container_id);
}
