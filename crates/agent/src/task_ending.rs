//! How a task ended, as the agent reports it: the decision a restarted agent makes for each
//! checkpointed container, and the terminal status of a supervised command that ended (for a
//! recovered task too).

use super::container_checkpoint::ContainerCheckpoint;
use super::processes::ExitOutcome;
use corral_api::v1::{TaskState, reason};
use corral_cgroups::Container;

/// How a task ended, as the agent reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub state: TaskState,
    pub reason: &'static str,
    pub message: String,
}

/// What to do with one checkpointed container.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Its command still runs: track it.
    Reattach,
    /// Its terminal state was already recorded (and is pending or acknowledged).
    AlreadyEnded,
    /// It ended while the agent was down (or never started): report this.
    End(Ending),
}

/// Decides a container's fate from its checkpoint, whether its supervisor still runs, the
/// exit its supervisor recorded, and the memory limit if the OOM killer hit it.
pub fn decide(
    checkpoint: &ContainerCheckpoint,
    alive: bool,
    exit: Option<ExitOutcome>,
    memory_limit: Option<f64>,
) -> Decision {
    if checkpoint.state.is_terminal() {
        return Decision::AlreadyEnded;
    }
    if checkpoint.task.executor.is_some() {
        return Decision::End(Ending {
            state: TaskState::TaskFailed,
            reason: reason::EXECUTOR_TERMINATED,
            message: "The agent restarted and the task's executor is no longer running".into(),
        });
    }
    if checkpoint.process.is_none() {
        // Recovery looked for an unrecorded start first (`unrecorded_start.rs`); none found.
        return Decision::End(unrecorded_ending(Unrecorded::NotStarted, false, None));
    }
    if alive && exit.is_none() {
        return Decision::Reattach;
    }
    Decision::End(ending(exit, checkpoint.kill_requested, memory_limit))
}

/// What a restarted agent found of a task's command whose start it had not checkpointed
/// (it died between starting the command and recording its pid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unrecorded {
    /// No supervisor of it runs, it recorded no exit, and its cgroup (if any) is empty.
    NotStarted,
    /// It started and ended while the agent was down: its supervisor recorded this exit.
    Ended(ExitOutcome),
    /// It was starting, or ran with no supervisor to reattach to: its processes are killed.
    Killed,
}

/// The terminal status of a task whose command's start was not checkpointed (a live
/// supervisor found instead is reattached, and never gets here).
pub fn unrecorded_ending(
    found: Unrecorded,
    kill_requested: bool,
    memory_limit: Option<f64>,
) -> Ending {
    match found {
        Unrecorded::Ended(exit) => ending(Some(exit), kill_requested, memory_limit),
        Unrecorded::Killed => Ending {
            state: TaskState::TaskFailed,
            reason: reason::AGENT_RESTARTED,
            message: "The agent restarted while the task's command was starting; its \
                      processes were killed"
                .into(),
        },
        Unrecorded::NotStarted => Ending {
            state: TaskState::TaskFailed,
            reason: reason::AGENT_RESTARTED,
            message: "The agent restarted before the task's command started".into(),
        },
    }
}

/// The terminal status of a supervised command that ended. `exit` is `None` when its
/// supervisor is gone without recording one.
pub fn ending(
    exit: Option<ExitOutcome>,
    kill_requested: bool,
    memory_limit: Option<f64>,
) -> Ending {
    if let Some(limit) = memory_limit {
        return Ending {
            state: TaskState::TaskFailed,
            reason: reason::CONTAINER_LIMITATION_MEMORY,
            message: format!("Memory limit of {limit} MB exceeded"),
        };
    }
    let Some(exit) = exit else {
        return Ending {
            state: if kill_requested {
                TaskState::TaskKilled
            } else {
                TaskState::TaskFailed
            },
            reason: reason::EXECUTOR_TERMINATED,
            message: "The task's supervisor ended without recording its exit status while \
                      the agent was down"
                .into(),
        };
    };
    let message = describe_exit(exit);
    if kill_requested {
        return Ending {
            state: TaskState::TaskKilled,
            reason: reason::EXECUTOR_TERMINATED,
            message,
        };
    }
    match exit {
        ExitOutcome {
            code: Some(0),
            signal: None,
        } => Ending {
            state: TaskState::TaskFinished,
            reason: reason::COMMAND_EXECUTOR_FAILED,
            message,
        },
        _ => Ending {
            state: TaskState::TaskFailed,
            reason: reason::COMMAND_EXECUTOR_FAILED,
            message,
        },
    }
}

/// "Command exited with status 3" / "Command terminated with signal SIGKILL", as the
/// `command` executor says it.
fn describe_exit(exit: ExitOutcome) -> String {
    match (exit.code, exit.signal) {
        (_, Some(signal)) => format!("Command terminated with signal {}", signal_name(signal)),
        (Some(code), None) => format!("Command exited with status {code}"),
        (None, None) => "Command exited with an unknown status".into(),
    }
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// The container's memory limit if the OOM killer killed one of its processes. Reads its
/// cgroup files: call it off the async threads.
pub fn memory_limit_hit(container: Option<&Container>) -> Option<f64> {
    let container = container?;
    container
        .oom_killed()
        .then(|| container.mem_limit_mb().unwrap_or(0.0))
}

#[cfg(test)]
#[path = "task_ending_tests.rs"]
mod tests;
