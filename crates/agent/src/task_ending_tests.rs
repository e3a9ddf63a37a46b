//! The recovery decisions: what a restarted agent reports for each checkpointed container.

use std::path::PathBuf;

use super::*;
use crate::container_checkpoint::ProcessCheckpoint;
use corral_api::v1::{FrameworkId, FrameworkInfo, TaskId, TaskInfo};

fn checkpoint(state: TaskState, started: bool, kill_requested: bool) -> ContainerCheckpoint {
    ContainerCheckpoint {
        framework: FrameworkInfo {
            id: Some(FrameworkId::new("fw")),
            ..Default::default()
        },
        task: TaskInfo {
            task_id: TaskId::new("t"),
            ..Default::default()
        },
        container_id: "c".into(),
        sandbox: PathBuf::from("/tmp/s"),
        cgroup_parent: None,
        process: started.then_some(ProcessCheckpoint {
            id: 1,
            supervisor_pid: 10,
            supervisor_start: 20,
            pgid: 11,
        }),
        state,
        kill_requested,
    }
}

fn exited(code: i32) -> Option<ExitOutcome> {
    Some(ExitOutcome {
        code: Some(code),
        signal: None,
    })
}

fn signalled(signal: i32) -> Option<ExitOutcome> {
    Some(ExitOutcome {
        code: None,
        signal: Some(signal),
    })
}

fn ended(decision: Decision) -> Ending {
    match decision {
        Decision::End(ending) => ending,
        other => panic!("expected an ending, got {other:?}"),
    }
}

#[test]
fn a_live_supervisor_without_an_exit_is_reattached() {
    let running = checkpoint(TaskState::TaskRunning, true, false);
    assert_eq!(decide(&running, true, None, None), Decision::Reattach);
}

#[test]
fn an_exit_while_the_agent_was_down_is_reported_with_its_code() {
    let running = checkpoint(TaskState::TaskRunning, true, false);
    let failed = ended(decide(&running, false, exited(3), None));
    assert_eq!(failed.state, TaskState::TaskFailed);
    assert_eq!(failed.message, "Command exited with status 3");
    assert_eq!(failed.reason, reason::COMMAND_EXECUTOR_FAILED);
    let finished = ended(decide(&running, false, exited(0), None));
    assert_eq!(finished.state, TaskState::TaskFinished);
    // An exit file wins over a supervisor that has not quite exited yet.
    assert_eq!(
        ended(decide(&running, true, exited(0), None)).state,
        TaskState::TaskFinished
    );
}

#[test]
fn a_requested_kill_is_reported_killed() {
    let killing = checkpoint(TaskState::TaskRunning, true, true);
    let killed = ended(decide(&killing, false, signalled(libc::SIGTERM), None));
    assert_eq!(killed.state, TaskState::TaskKilled);
    assert_eq!(killed.message, "Command terminated with signal SIGTERM");
    // Even when the supervisor died with it (SIGKILL to everything).
    assert_eq!(
        ended(decide(&killing, false, None, None)).state,
        TaskState::TaskKilled
    );
}

#[test]
fn an_oom_kill_is_reported_with_the_memory_reason() {
    let running = checkpoint(TaskState::TaskRunning, true, false);
    let oom = ended(decide(
        &running,
        false,
        signalled(libc::SIGKILL),
        Some(32.0),
    ));
    assert_eq!(oom.state, TaskState::TaskFailed);
    assert_eq!(oom.reason, reason::CONTAINER_LIMITATION_MEMORY);
    assert!(oom.message.contains("32 MB"), "{}", oom.message);
}

#[test]
fn a_vanished_supervisor_without_an_exit_fails_the_task_clearly() {
    let running = checkpoint(TaskState::TaskRunning, true, false);
    let lost = ended(decide(&running, false, None, None));
    assert_eq!(lost.state, TaskState::TaskFailed);
    assert_eq!(lost.reason, reason::EXECUTOR_TERMINATED);
    assert!(
        lost.message.contains("without recording"),
        "{}",
        lost.message
    );
}

#[test]
fn a_task_whose_command_never_started_fails_with_agent_restarted() {
    let staging = checkpoint(TaskState::TaskStaging, false, false);
    let failed = ended(decide(&staging, false, None, None));
    assert_eq!(failed.state, TaskState::TaskFailed);
    assert_eq!(failed.reason, reason::AGENT_RESTARTED);
}

#[test]
fn a_task_already_terminal_is_not_reported_again() {
    let done = checkpoint(TaskState::TaskFinished, true, false);
    assert_eq!(
        decide(&done, false, exited(0), None),
        Decision::AlreadyEnded
    );
}

/// A start the agent had not checkpointed: what recovery found decides the report.
#[test]
fn an_unrecorded_start_is_reported_as_what_it_left() {
    let ran = unrecorded_ending(Unrecorded::Ended(exited(0).expect("exit")), false, None);
    assert_eq!(ran.state, TaskState::TaskFinished);
    assert_eq!(ran.message, "Command exited with status 0");
    let killed_ran = unrecorded_ending(Unrecorded::Ended(exited(1).expect("exit")), true, None);
    assert_eq!(killed_ran.state, TaskState::TaskKilled, "a kill was asked");
    let starting = unrecorded_ending(Unrecorded::Killed, false, None);
    assert_eq!(starting.state, TaskState::TaskFailed);
    assert_eq!(starting.reason, reason::AGENT_RESTARTED);
    assert_eq!(
        starting.message,
        "The agent restarted while the task's command was starting; its processes were killed"
    );
    let never = unrecorded_ending(Unrecorded::NotStarted, false, None);
    assert_eq!(
        never.message,
        "The agent restarted before the task's command started"
    );
    let oom = unrecorded_ending(
        Unrecorded::Ended(signalled(9).expect("exit")),
        false,
        Some(64.0),
    );
    assert_eq!(oom.reason, reason::CONTAINER_LIMITATION_MEMORY);
}
