//! A task recovered after an agent restart. Its executor plugin instance died with the old
//! agent, so the host runs it in a plain "recovered" mode: it watches the supervisor's pid;
//! when the command ends, the exit file says the terminal state (exit 0 -> TASK_FINISHED,
//! else TASK_FAILED; TASK_KILLED if a kill was asked; the memory reason if the OOM killer
//! hit it). A kill sends SIGTERM to the command's process group, then SIGKILL after the
//! grace period. Health checks of recovered tasks are not run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::container_checkpoint::{self, ProcessCheckpoint};
use super::isolators::{Prepared, cleanup};
use super::processes::signal_group;
use super::recovery::{destroy, ending, memory_limit_hit};
use super::shared::AgentShared;
use super::supervisor;
use super::task_runner::RunnerInput;
use super::tasks::{StatusFields, new_status};
use crate::api::v1::{FrameworkId, StatusSource, TaskId};
use crate::isolation::Container;

/// How often the supervisor's pid is looked at.
const POLL: Duration = Duration::from_millis(200);

pub struct RecoveredTask {
    shared: Arc<AgentShared>,
    framework_id: FrameworkId,
    task_id: TaskId,
    container_id: String,
    process: ProcessCheckpoint,
    container: Option<Container>,
    inbox: UnboundedReceiver<RunnerInput>,
    kill_requested: bool,
    /// When to send SIGKILL, once a kill's grace period runs.
    kill_at: Option<Instant>,
    /// The isolator plugins (and devices cgroup) to clean up when the task ends.
    isolation: Option<Prepared>,
}

impl RecoveredTask {
    pub fn new(
        shared: Arc<AgentShared>,
        framework_id: FrameworkId,
        task_id: TaskId,
        container_id: String,
        process: ProcessCheckpoint,
        container: Option<Container>,
        kill_requested: bool,
    ) -> (Self, UnboundedSender<RunnerInput>) {
        let (tx, inbox) = unbounded_channel();
        let task = RecoveredTask {
            shared,
            framework_id,
            task_id,
            container_id,
            process,
            container,
            inbox,
            kill_requested,
            kill_at: None,
            isolation: None,
        };
        (task, tx)
    }

    /// What the isolator plugins hold for the container, released when it ends.
    pub fn with_isolation(mut self, isolation: Option<Prepared>) -> Self {
        self.isolation = isolation;
        self
    }

    pub async fn run(mut self) {
        let mut shutdown = self.shared.shutdown.clone();
        let mut tick = tokio::time::interval(POLL);
        loop {
            let kill_at = self.kill_at;
            tokio::select! {
                Some(input) = self.inbox.recv() => {
                    if let RunnerInput::Kill(grace_ms) = input {
                        self.kill(grace_ms);
                    }
                }
                () = sleep_until(kill_at), if kill_at.is_some() => {
                    self.kill_at = None;
                    self.signal(libc::SIGKILL);
                }
                _ = tick.tick() => {
                    let p = self.process;
                    if !supervisor::is_alive(p.supervisor_pid, p.supervisor_start) {
                        break;
                    }
                }
                _ = super::stopped(&mut shutdown) => {
                    // The agent stops: its tasks stop with it, as the other runners do.
                    self.signal(libc::SIGKILL);
                    self.finish().await;
                    return;
                }
            }
        }
        self.report_end();
        self.finish().await;
    }

    fn kill(&mut self, grace_ms: u64) {
        if self.kill_at.is_some() {
            return; // SIGTERM was sent; SIGKILL follows at the end of the grace period
        }
        self.kill_requested = true;
        tracing::info!(
            "killing recovered task {} (grace {grace_ms} ms)",
            self.task_id
        );
        if grace_ms == 0 {
            self.signal(libc::SIGKILL);
        } else {
            self.signal(libc::SIGTERM);
            self.kill_at = Some(Instant::now() + Duration::from_millis(grace_ms));
        }
    }

    fn signal(&self, signal: i32) {
        if let Err(e) = signal_group(self.process.pgid, signal)
            && !e.contains("No such process")
        {
            tracing::warn!("signal {signal} to recovered task {}: {e}", self.task_id);
        }
    }

    /// Reports the terminal state from the exit file the supervisor left.
    fn report_end(&self) {
        let exit_file = container_checkpoint::exit_file(
            &self.shared.config.work_dir,
            &self.container_id,
            self.process.id,
        );
        let exit = supervisor::read_exit(&exit_file);
        let end = ending(
            exit,
            self.kill_requested,
            memory_limit_hit(self.container.as_ref()),
        );
        let fields = StatusFields {
            message: Some(end.message),
            reason: Some(end.reason.to_string()),
            ..Default::default()
        };
        let status = new_status(
            &self.task_id,
            end.state,
            StatusSource::SourceAgent,
            self.shared.agent_id(),
            fields,
        );
        self.shared.submit_status(&self.framework_id, status);
    }

    async fn finish(mut self) {
        destroy(self.container.take(), format!("task {}", self.task_id)).await;
        if let Some(prepared) = self.isolation.take() {
            let container_id = self.container_id.clone();
            let _ = tokio::task::spawn_blocking(move || cleanup(prepared, &container_id)).await;
        }
        self.shared
            .runner_finished(&self.framework_id, &self.task_id);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
