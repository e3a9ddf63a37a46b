//! The `command` executor: Mesos' command executor as a state machine.
//!
//! `launch` spawns the task's command as process 1 and reports TASK_STARTING and
//! TASK_RUNNING. When the process exits the task is TASK_FINISHED (status 0) or TASK_FAILED
//! (with "Command exited with status N" or "Command terminated with signal SIG" and reason
//! REASON_COMMAND_EXECUTOR_FAILED). A kill reports TASK_KILLING, sends SIGTERM and sets a
//! timer for the grace period; if the process still runs when it fires it gets SIGKILL; its
//! exit then reports TASK_KILLED. The host spawns, signals and times; this plugin only decides.
//!
//! A task with a health check gets `check` actions on a timer (see [`health`]); health changes
//! are reported as TASK_RUNNING with `healthy` (reason REASON_TASK_HEALTH_CHECK_STATUS_UPDATED),
//! and a task that fails too many checks in a row is killed: TASK_KILLED with healthy=false.

pub mod health;
#[cfg(test)]
mod health_tests;
mod signals;
#[cfg(test)]
mod tests;

use corral_sdk::executor::{
    Action, CheckResult, Event, Executor, ProcessExit, SendSignal, SpawnFailure, SpawnProcess,
    Status, TaskInfo, TaskState, Timer,
};
use health::{TaskHealth, Verdict};

pub use signals::{describe_exit, signal_name};

/// The task's command. Ids are local to the task.
const COMMAND_PROCESS: u32 = 1;
/// Fires when the kill grace period is over.
const KILL_TIMER: u32 = 1;
/// Fires when the next health check attempt is due.
const HEALTH_TIMER: u32 = 2;
/// The grace period of a kill after failed health checks when the task sets none.
const DEFAULT_KILL_GRACE_MS: u64 = 3_000;
const REASON_HEALTH: &str = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED";
const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;
const REASON_FAILED: &str = "REASON_COMMAND_EXECUTOR_FAILED";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not launched yet.
    #[default]
    Idle,
    /// The command runs.
    Running,
    /// A kill was asked: SIGTERM sent, SIGKILL on the timer.
    Killing,
    /// A terminal status was sent.
    Over,
}

#[derive(Debug, Default)]
pub struct CommandExecutor {
    phase: Phase,
    task_id: String,
    pub(crate) health: Option<TaskHealth>,
    kill_grace_ms: u64,
    /// Set when failed health checks started the kill: the message for TASK_KILLED.
    killed_by_health: Option<String>,
    /// The clock in milliseconds; `None` is the host's. Tests set a simulated one.
    pub clock: Option<fn() -> u64>,
}

impl CommandExecutor {
    fn now(&self) -> u64 {
        self.clock.map_or_else(corral_sdk::now, |clock| clock())
    }

    fn finish(&mut self, mut status: Status) -> Vec<Action> {
        self.phase = Phase::Over;
        let mut actions = Vec::new();
        if self.health.is_some() {
            actions.push(Action::CancelTimer(HEALTH_TIMER));
        }
        if let Some(why) = self.killed_by_health.take()
            && status.state == TaskState::Killed
        {
            status.healthy = Some(false);
            let said = status.message.take().unwrap_or_default();
            status.message = Some(format!("{said} ({why})"));
        }
        actions.push(Action::SendStatus(status));
        actions.push(Action::Done);
        actions
    }

    fn on_check(&mut self, result: CheckResult) -> Vec<Action> {
        let now = self.now();
        let Some(policy) = self.health.as_mut() else {
            return Vec::new();
        };
        if self.phase != Phase::Running {
            return Vec::new();
        }
        let mut actions = Vec::new();
        let verdict = policy.on_result(&result, now);
        let running = |healthy: bool| {
            let mut status = Status::new(TaskState::Running).with_reason(REASON_HEALTH);
            status.healthy = Some(healthy);
            Action::SendStatus(status.with_message(result.message.clone()))
        };
        match verdict {
            Verdict::Stale => return actions,
            Verdict::Quiet => {}
            Verdict::Report(healthy) => actions.push(running(healthy)),
            Verdict::Kill { failures, message } => {
                actions.push(running(false));
                self.killed_by_health = Some(format!(
                    "killed after {failures} consecutive failed health checks: {message}"
                ));
                actions.extend(self.on_kill(self.kill_grace_ms));
                return actions;
            }
        }
        actions.push(Action::SetTimer(Timer {
            id: HEALTH_TIMER,
            after_ms: policy.interval_ms(),
        }));
        actions
    }

    fn on_exit(&mut self, exit: ProcessExit) -> Result<Vec<Action>, String> {
        if exit.id != COMMAND_PROCESS {
            return Err(format!(
                "task {}: exit of unknown process {}",
                self.task_id, exit.id
            ));
        }
        let message = describe_exit(exit.code, exit.signal);
        match self.phase {
            Phase::Running if exit.code == Some(0) && exit.signal.is_none() => {
                Ok(self.finish(Status::new(TaskState::Finished).with_message(message)))
            }
            Phase::Running => Ok(self.finish(
                Status::new(TaskState::Failed)
                    .with_message(message)
                    .with_reason(REASON_FAILED),
            )),
            Phase::Killing => {
                let mut actions = vec![Action::CancelTimer(KILL_TIMER)];
                actions.extend(self.finish(Status::new(TaskState::Killed).with_message(message)));
                Ok(actions)
            }
            Phase::Idle | Phase::Over => Err(format!(
                "task {}: process exit while no command runs",
                self.task_id
            )),
        }
    }

    fn on_spawn_failed(&mut self, failure: SpawnFailure) -> Result<Vec<Action>, String> {
        let message = format!("Failed to launch the command: {}", failure.message);
        match self.phase {
            Phase::Running => Ok(self.finish(
                Status::new(TaskState::Failed)
                    .with_message(message)
                    .with_reason(REASON_FAILED),
            )),
            Phase::Killing => {
                let mut actions = vec![Action::CancelTimer(KILL_TIMER)];
                actions.extend(self.finish(Status::new(TaskState::Killed).with_message(message)));
                Ok(actions)
            }
            Phase::Idle | Phase::Over => Err(format!(
                "task {}: spawn failure while no command was started",
                self.task_id
            )),
        }
    }

    fn on_kill(&mut self, grace_ms: u64) -> Vec<Action> {
        match self.phase {
            Phase::Running => {
                self.phase = Phase::Killing;
                vec![
                    Action::SendStatus(Status::new(TaskState::Killing)),
                    Action::Signal(SendSignal {
                        id: COMMAND_PROCESS,
                        signal: SIGTERM,
                    }),
                    Action::SetTimer(Timer {
                        id: KILL_TIMER,
                        after_ms: grace_ms,
                    }),
                ]
            }
            Phase::Idle => self.finish(
                Status::new(TaskState::Killed).with_message("Task killed before it was launched"),
            ),
            // A second kill while the first runs its course, or a kill after the end.
            Phase::Killing | Phase::Over => Vec::new(),
        }
    }

    fn on_timer(&mut self, timer: u32) -> Vec<Action> {
        if timer == HEALTH_TIMER && self.phase == Phase::Running {
            return match self.health.as_mut().and_then(TaskHealth::start_attempt) {
                Some(check) => vec![Action::Check(check)],
                None => Vec::new(),
            };
        }
        if timer == KILL_TIMER && self.phase == Phase::Killing {
            vec![Action::Signal(SendSignal {
                id: COMMAND_PROCESS,
                signal: SIGKILL,
            })]
        } else {
            // A timer that raced with the process's exit.
            Vec::new()
        }
    }
}

impl Executor for CommandExecutor {
    fn launch(&mut self, task: TaskInfo) -> Result<Vec<Action>, String> {
        if self.phase != Phase::Idle {
            return Err(format!("task {} was already launched", self.task_id));
        }
        let Some(command) = task.command else {
            return Err(format!("task {} has no command", task.task_id));
        };
        if command.value.trim().is_empty() {
            return Err(format!("task {} has an empty command", task.task_id));
        }
        self.task_id = task.task_id;
        self.phase = Phase::Running;
        self.kill_grace_ms = task.kill_grace_period_ms.unwrap_or(DEFAULT_KILL_GRACE_MS);
        let mut actions = vec![
            Action::Spawn(SpawnProcess {
                id: COMMAND_PROCESS,
                command,
            }),
            Action::SendStatus(Status::new(TaskState::Starting)),
            Action::SendStatus(Status::new(TaskState::Running)),
        ];
        if let Some(check) = task.health_check {
            let policy = TaskHealth::new(check, self.now());
            actions.push(Action::SetTimer(Timer {
                id: HEALTH_TIMER,
                after_ms: policy.delay_ms(),
            }));
            self.health = Some(policy);
        }
        Ok(actions)
    }

    fn on_event(&mut self, event: Event) -> Result<Vec<Action>, String> {
        match event {
            Event::Exited(exit) => self.on_exit(exit),
            Event::SpawnFailed(failure) => self.on_spawn_failed(failure),
            Event::Kill(grace_ms) => Ok(self.on_kill(grace_ms)),
            Event::TimerFired(timer) => Ok(self.on_timer(timer)),
            Event::CheckFinished(result) => Ok(self.on_check(result)),
        }
    }
}
