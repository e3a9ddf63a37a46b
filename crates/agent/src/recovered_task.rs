//! A task recovered after an agent restart. Its executor plugin instance died with the old
//! agent, so the host runs it in a plain "recovered" mode: it watches the supervisor's pid;
//! when the command ends, the exit file says the terminal state (exit 0 -> TASK_FINISHED,
//! else TASK_FAILED; TASK_KILLED if a kill was asked; the memory reason if the OOM killer
//! hit it). A kill sends SIGTERM to the command's process group, then SIGKILL after the
//! grace period. A task with a health check is checked again (see [`RecoveredHealth`]):
//! health changes are reported as TASK_RUNNING with `healthy` (reason
//! REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), and a task failing too many checks in a row is
//! killed as the command executor does it: SIGTERM, SIGKILL after the task's kill grace
//! period, then TASK_KILLED with healthy=false. A task with `disk` is measured again
//! (`disk_watch.rs`); past its quota (enforced) it is killed and TASK_FAILED with the
//! limitation's reason.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::agent_cgroups::destroy;
use super::container_checkpoint::{self, ProcessCheckpoint};
use super::disk_watch::{DiskWatch, disk_limit_bytes};
use super::health_checks::policy::{self, RecoveredPolicy, Verdict};
use super::health_checks::{self, CheckPlace, CheckedTask};
use super::identity::AgentIdentity;
use super::isolators::{Prepared, cleanup};
use super::processes::signal_group;
use super::runner_input::RunnerInput;
use super::shutdown::Shutdown;
use super::supervisor;
use super::task_ending::{Ending, ending, memory_limit_hit};
use super::task_status::{DEFAULT_KILL_GRACE_MS, StatusFields, grace_ms, new_status};
use super::task_store::TaskStore;
use corral_api::v1::{FrameworkId, StatusSource, TaskId, TaskInfo, TaskState, reason};
use corral_cgroups::Container;
use corral_plugin_host::executor::{CheckResult, Event};
use corral_plugin_host::health_check::HealthCheck;

/// How often the supervisor's pid is looked at.
const POLL: Duration = Duration::from_millis(200);

/// What a recovered task's runner works with.
#[derive(Clone)]
pub struct RecoveredTaskContext {
    /// Status submission, the kill checkpoint, and the end of the runner.
    pub tasks: Arc<TaskStore>,
    pub identity: Arc<AgentIdentity>,
    /// Where the supervisors' exit files are.
    pub work_dir: PathBuf,
    /// Measures the sandboxes of tasks with `disk` again.
    pub disk: Arc<DiskWatch>,
    pub shutdown: Shutdown,
}

pub struct RecoveredTask {
    ctx: RecoveredTaskContext,
    framework_id: FrameworkId,
    task_id: TaskId,
    container_id: String,
    process: ProcessCheckpoint,
    /// The task's cgroups (shared with its health checks); `None` under posix.
    container: Option<Arc<Container>>,
    inbox: UnboundedReceiver<RunnerInput>,
    /// Where check results come back (the task's own inbox).
    inbox_tx: UnboundedSender<RunnerInput>,
    kill_requested: bool,
    /// When to send SIGKILL, once a kill's grace period runs.
    kill_at: Option<Instant>,
    /// The isolator plugins (and devices cgroup) to clean up when the task ends.
    isolation: Option<Prepared>,
    health: Option<RecoveredHealth>,
    /// Set when failed health checks started the kill: said on TASK_KILLED.
    killed_by_health: Option<String>,
    /// The limit the container went past (message, reason): said on TASK_FAILED.
    limitation: Option<(String, &'static str)>,
}

/// The health check of a recovered task. The checker restarts with the recovery (the first
/// attempt runs `delay` after it), but the grace period counts from the task's launch: see
/// [`policy`].
struct RecoveredHealth {
    policy: RecoveredPolicy,
    sandbox: PathBuf,
    /// The task's user, as its launch chose it (`run_as::task_user`).
    user: Option<String>,
    /// The grace period of a kill after failed checks (the task's kill policy, or 3 s).
    kill_grace_ms: u64,
    /// When the next attempt runs; `None` while one runs.
    next_at: Option<Instant>,
}

impl RecoveredTask {
    pub fn new(
        ctx: RecoveredTaskContext,
        framework_id: FrameworkId,
        task_id: TaskId,
        container_id: String,
        process: ProcessCheckpoint,
        container: Option<Arc<Container>>,
        kill_requested: bool,
    ) -> (Self, UnboundedSender<RunnerInput>) {
        let (tx, inbox) = unbounded_channel();
        let task = RecoveredTask {
            ctx,
            framework_id,
            task_id,
            container_id,
            process,
            container,
            inbox,
            inbox_tx: tx.clone(),
            kill_requested,
            kill_at: None,
            isolation: None,
            health: None,
            killed_by_health: None,
            limitation: None,
        };
        (task, tx)
    }

    /// What the isolator plugins hold for the container, released when it ends.
    pub fn with_isolation(mut self, isolation: Option<Prepared>) -> Self {
        self.isolation = isolation;
        self
    }

    /// Checks the task's health again, if it has a check (and no kill was asked for), as
    /// `user` (the task's; `None`: the agent's).
    pub fn with_health_check(
        mut self,
        task: &TaskInfo,
        sandbox: PathBuf,
        user: Option<String>,
    ) -> Self {
        if self.kill_requested {
            return self;
        }
        let Some(check) = task.health_check.as_ref().and_then(HealthCheck::from_mesos) else {
            return self;
        };
        let kill_grace_ms = grace_ms(task.kill_policy.as_ref()).unwrap_or(DEFAULT_KILL_GRACE_MS);
        let policy = RecoveredPolicy::new(check);
        tracing::info!("health checks of recovered task {} resume", self.task_id);
        self.health = Some(RecoveredHealth {
            next_at: Some(Instant::now() + policy.delay()),
            policy,
            sandbox,
            user,
            kill_grace_ms,
        });
        self
    }

    pub async fn run(mut self) {
        let mut shutdown = self.ctx.shutdown.clone();
        let mut tick = tokio::time::interval(POLL);
        let disk_watch = self.watch_disk();
        loop {
            let kill_at = self.kill_at;
            let check_at = self.health.as_ref().and_then(|h| h.next_at);
            tokio::select! {
                Some(input) = self.inbox.recv() => {
                    match input {
                        RunnerInput::Kill(grace_ms) => self.kill(grace_ms),
                        RunnerInput::Event(Event::CheckFinished(result)) => self.on_check(result),
                        RunnerInput::Limitation { message, reason } => {
                            tracing::info!("recovered task {}: {message}", self.task_id);
                            self.limitation = Some((message, reason));
                            self.signal(libc::SIGKILL);
                        }
                        _ => {}
                    }
                }
                () = sleep_until(kill_at), if kill_at.is_some() => {
                    self.kill_at = None;
                    self.signal(libc::SIGKILL);
                }
                () = sleep_until(check_at), if check_at.is_some() => self.start_check(),
                _ = tick.tick() => {
                    let p = self.process;
                    // /proc is answered from kernel memory: fine on an async thread.
                    if !supervisor::is_alive(p.supervisor_pid, p.supervisor_start) {
                        break;
                    }
                }
                _ = shutdown.stopped() => {
                    // The agent stops: its tasks stop with it, as the other runners do.
                    self.signal(libc::SIGKILL);
                    if let Some(watch) = &disk_watch {
                        watch.abort();
                    }
                    self.finish().await;
                    return;
                }
            }
        }
        if let Some(watch) = &disk_watch {
            watch.abort();
        }
        self.report_end().await;
        self.finish().await;
    }

    fn start_check(&mut self) {
        let Some(health) = self.health.as_mut() else {
            return;
        };
        health.next_at = None;
        let Some(check) = health.policy.start_attempt() else {
            return;
        };
        let task = CheckedTask {
            agent_id: self.ctx.identity.id_value(),
            task_id: &self.task_id.value,
            framework_id: &self.framework_id.value,
            container_id: &self.container_id,
            user: health.user.as_deref(),
            task_group: Some(self.process.pgid),
        };
        let place = CheckPlace::for_task(task, &health.sandbox, self.container.as_ref());
        health_checks::start(check, place, self.inbox_tx.clone());
    }

    fn on_check(&mut self, result: CheckResult) {
        if self.kill_requested {
            return; // a kill runs its course; health no longer matters
        }
        let since_launch =
            policy::since_start(self.process.supervisor_start).unwrap_or(Duration::MAX);
        let Some(health) = self.health.as_mut() else {
            return;
        };
        match health.policy.on_result(&result, since_launch) {
            Verdict::Stale => return,
            Verdict::Quiet => {}
            Verdict::Report(healthy) => self.report_health(healthy, result.message),
            Verdict::Kill { failures, message } => {
                let grace_ms = health.kill_grace_ms;
                self.report_health(false, message.clone());
                self.killed_by_health = Some(format!(
                    "killed after {failures} consecutive failed health checks: {message}"
                ));
                self.record_kill();
                self.kill(grace_ms);
                return;
            }
        }
        if let Some(health) = self.health.as_mut() {
            health.next_at = Some(Instant::now() + health.policy.interval());
        }
    }

    /// Checkpoints that a kill was asked for, so an exit during the kill's grace period is
    /// TASK_KILLED even if the agent restarts again meanwhile.
    fn record_kill(&self) {
        self.ctx
            .tasks
            .mark_kill_requested(&self.framework_id, &self.task_id);
    }

    fn report_health(&self, healthy: bool, message: String) {
        let fields = StatusFields {
            message: Some(message),
            reason: Some(reason::TASK_HEALTH_CHECK_STATUS_UPDATED.to_string()),
            healthy: Some(healthy),
            ..Default::default()
        };
        let status = new_status(
            &self.task_id,
            TaskState::TaskRunning,
            StatusSource::SourceExecutor,
            self.ctx.identity.id(),
            fields,
        );
        self.ctx.tasks.submit_status(&self.framework_id, status);
    }

    fn kill(&mut self, grace_ms: u64) {
        if self.kill_at.is_some() {
            return; // SIGTERM was sent; SIGKILL follows at the end of the grace period
        }
        self.kill_requested = true;
        if let Some(health) = self.health.as_mut() {
            health.next_at = None;
        }
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

    /// Measures the sandbox again if the task asked for `disk` (and no kill is under way).
    fn watch_disk(&self) -> Option<tokio::task::AbortHandle> {
        if self.kill_requested {
            return None;
        }
        let (resources, sandbox) = self
            .ctx
            .tasks
            .resources_and_sandbox(&self.framework_id, &self.task_id)?;
        let limit = disk_limit_bytes(&resources)?;
        let watch = self.ctx.disk.start(
            self.container_id.clone(),
            sandbox,
            limit,
            self.inbox_tx.clone(),
        );
        Some(watch)
    }

    fn signal(&self, signal: i32) {
        if let Err(e) = signal_group(self.process.pgid, signal)
            && !e.contains("No such process")
        {
            tracing::warn!("signal {signal} to recovered task {}: {e}", self.task_id);
        }
    }

    /// Reports the terminal state from the exit file the supervisor left (and the cgroup's
    /// OOM count), both read off the async threads.
    async fn report_end(&self) {
        let exit_file = container_checkpoint::exit_file(
            &self.ctx.work_dir,
            &self.container_id,
            self.process.id,
        );
        let exit = supervisor::read_exit_async(&exit_file).await;
        let container = self.container.clone();
        let memory_limit =
            tokio::task::spawn_blocking(move || memory_limit_hit(container.as_deref()))
                .await
                .unwrap_or_default();
        let mut end = ending(exit, self.kill_requested, memory_limit);
        if let Some((message, reason)) = &self.limitation {
            end = Ending {
                state: TaskState::TaskFailed,
                reason,
                message: message.clone(),
            };
        }
        let mut fields = StatusFields {
            message: Some(end.message),
            reason: Some(end.reason.to_string()),
            ..Default::default()
        };
        if let Some(why) = &self.killed_by_health
            && end.state == TaskState::TaskKilled
        {
            fields.healthy = Some(false);
            fields.reason = Some(reason::TASK_HEALTH_CHECK_STATUS_UPDATED.to_string());
            fields.message = fields.message.map(|said| format!("{said} ({why})"));
        }
        let status = new_status(
            &self.task_id,
            end.state,
            StatusSource::SourceAgent,
            self.ctx.identity.id(),
            fields,
        );
        self.ctx.tasks.submit_status(&self.framework_id, status);
    }

    async fn finish(mut self) {
        destroy(self.container.take(), format!("task {}", self.task_id)).await;
        if let Some(prepared) = self.isolation.take() {
            let container_id = self.container_id.clone();
            let _ = tokio::task::spawn_blocking(move || cleanup(prepared, &container_id)).await;
        }
        self.ctx
            .tasks
            .runner_finished(&self.framework_id, &self.task_id);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
