//! The `command` executor: Mesos' command executor as a state machine.
//!
//! `launch` spawns the task's command as process 1 and reports TASK_STARTING and
//! TASK_RUNNING. When the process exits the task is TASK_FINISHED (status 0) or TASK_FAILED
//! (with "Command exited with status N" or "Command terminated with signal SIG" and reason
//! REASON_COMMAND_EXECUTOR_FAILED). A kill reports TASK_KILLING, sends SIGTERM and sets a
//! timer for the grace period; if the process still runs when it fires it gets SIGKILL; its
//! exit then reports TASK_KILLED. The host spawns, signals and times; this plugin only decides.

mod signals;
#[cfg(test)]
mod tests;

use corral_sdk::executor::{
    Action, Event, Executor, ProcessExit, SendSignal, SpawnFailure, SpawnProcess, Status, TaskInfo,
    TaskState, Timer,
};

pub use signals::{describe_exit, signal_name};

/// The task's command. Ids are local to the task; health checks will take their own
/// process, timer and check ids when they come.
const COMMAND_PROCESS: u32 = 1;
/// Fires when the kill grace period is over.
const KILL_TIMER: u32 = 1;
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
}

impl CommandExecutor {
    fn finish(&mut self, status: Status) -> Vec<Action> {
        self.phase = Phase::Over;
        vec![Action::SendStatus(status), Action::Done]
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
        Ok(vec![
            Action::Spawn(SpawnProcess {
                id: COMMAND_PROCESS,
                command,
            }),
            Action::SendStatus(Status::new(TaskState::Starting)),
            Action::SendStatus(Status::new(TaskState::Running)),
        ])
    }

    fn on_event(&mut self, event: Event) -> Result<Vec<Action>, String> {
        match event {
            Event::Exited(exit) => self.on_exit(exit),
            Event::SpawnFailed(failure) => self.on_spawn_failed(failure),
            Event::Kill(grace_ms) => Ok(self.on_kill(grace_ms)),
            Event::TimerFired(timer) => Ok(self.on_timer(timer)),
            // TODO(health checks): start `check` actions from the task's health check after
            // launch, count consecutive failures here, report `healthy` in TASK_RUNNING
            // updates and kill the task when the limit is reached (Mesos semantics).
            Event::CheckFinished(_) => Ok(Vec::new()),
        }
    }
}

corral_sdk::export_executor!(CommandExecutor);
