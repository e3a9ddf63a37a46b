//! The command executor's state machine driven natively, event by event.

use corral_sdk::executor::{
    Action, CommandInfo, Event, Executor, ProcessExit, SendSignal, SpawnFailure, SpawnProcess,
    Status, TaskInfo, TaskState, Timer,
};

use crate::CommandExecutor;

fn command(value: &str) -> CommandInfo {
    CommandInfo {
        shell: true,
        value: value.into(),
        arguments: vec![],
        environment: vec![],
        user: None,
    }
}

fn task(command: Option<CommandInfo>) -> TaskInfo {
    TaskInfo {
        task_id: "t1".into(),
        name: "t1".into(),
        framework_id: "f1".into(),
        agent_id: "a1".into(),
        container_id: "c1".into(),
        resources: vec![],
        command,
        labels: vec![],
        kill_grace_period_ms: None,
        health_check: None,
        sandbox: "/tmp/sandbox".into(),
    }
}

fn launched() -> CommandExecutor {
    let mut executor = CommandExecutor::default();
    executor
        .launch(task(Some(command("echo hi"))))
        .expect("a task with a command launches");
    executor
}

fn exited(code: Option<i32>, signal: Option<i32>) -> Event {
    Event::Exited(ProcessExit {
        id: 1,
        code,
        signal,
    })
}

fn failed(message: &str) -> Action {
    Action::SendStatus(
        Status::new(TaskState::Failed)
            .with_message(message)
            .with_reason("REASON_COMMAND_EXECUTOR_FAILED"),
    )
}

#[test]
fn launch_spawns_the_command_and_reports_starting_then_running() {
    let mut executor = CommandExecutor::default();
    let actions = executor
        .launch(task(Some(command("echo hi"))))
        .expect("launches");
    assert_eq!(
        actions,
        [
            Action::Spawn(SpawnProcess {
                id: 1,
                command: command("echo hi")
            }),
            Action::SendStatus(Status::new(TaskState::Starting)),
            Action::SendStatus(Status::new(TaskState::Running)),
        ]
    );
}

#[test]
fn a_task_without_a_command_is_refused() {
    let mut executor = CommandExecutor::default();
    let error = executor.launch(task(None)).expect_err("no command");
    assert_eq!(error, "task t1 has no command");
    let error = executor
        .launch(task(Some(command("  "))))
        .expect_err("empty command");
    assert_eq!(error, "task t1 has an empty command");
}

#[test]
fn launching_twice_is_an_error() {
    let mut executor = launched();
    assert!(executor.launch(task(Some(command("true")))).is_err());
}

#[test]
fn exit_zero_finishes_the_task() {
    let mut executor = launched();
    let actions = executor.on_event(exited(Some(0), None)).expect("exit");
    assert_eq!(
        actions,
        [
            Action::SendStatus(
                Status::new(TaskState::Finished).with_message("Command exited with status 0")
            ),
            Action::Done,
        ]
    );
}

#[test]
fn a_non_zero_exit_fails_the_task_with_the_code() {
    let mut executor = launched();
    let actions = executor.on_event(exited(Some(3), None)).expect("exit");
    assert_eq!(
        actions,
        [failed("Command exited with status 3"), Action::Done]
    );
}

#[test]
fn a_signal_fails_the_task_with_the_signal_name() {
    let mut executor = launched();
    let actions = executor.on_event(exited(None, Some(11))).expect("exit");
    assert_eq!(
        actions,
        [
            failed("Command terminated with signal SIGSEGV"),
            Action::Done
        ]
    );
}

#[test]
fn kill_terms_then_kills_after_the_grace_period() {
    let mut executor = launched();
    let actions = executor.on_event(Event::Kill(3_000)).expect("kill");
    assert_eq!(
        actions,
        [
            Action::SendStatus(Status::new(TaskState::Killing)),
            Action::Signal(SendSignal { id: 1, signal: 15 }),
            Action::SetTimer(Timer {
                id: 1,
                after_ms: 3_000
            }),
        ]
    );
    assert!(
        executor
            .on_event(Event::Kill(1))
            .expect("second kill")
            .is_empty(),
        "a second kill changes nothing"
    );
    let actions = executor.on_event(Event::TimerFired(1)).expect("timer");
    assert_eq!(actions, [Action::Signal(SendSignal { id: 1, signal: 9 })]);
    let actions = executor.on_event(exited(None, Some(9))).expect("exit");
    assert_eq!(
        actions,
        [
            Action::CancelTimer(1),
            Action::SendStatus(
                Status::new(TaskState::Killed)
                    .with_message("Command terminated with signal SIGKILL")
            ),
            Action::Done,
        ]
    );
}

#[test]
fn a_process_that_obeys_sigterm_is_killed_without_sigkill() {
    let mut executor = launched();
    executor.on_event(Event::Kill(3_000)).expect("kill");
    let actions = executor.on_event(exited(None, Some(15))).expect("exit");
    assert_eq!(
        actions,
        [
            Action::CancelTimer(1),
            Action::SendStatus(
                Status::new(TaskState::Killed)
                    .with_message("Command terminated with signal SIGTERM")
            ),
            Action::Done,
        ]
    );
    assert!(
        executor
            .on_event(Event::TimerFired(1))
            .expect("late timer")
            .is_empty(),
        "a timer that raced with the exit does nothing"
    );
}

#[test]
fn an_exit_code_after_a_kill_still_means_killed() {
    let mut executor = launched();
    executor.on_event(Event::Kill(0)).expect("kill");
    let actions = executor.on_event(exited(Some(0), None)).expect("exit");
    assert!(matches!(
        &actions[1],
        Action::SendStatus(Status {
            state: TaskState::Killed,
            ..
        })
    ));
}

#[test]
fn a_failed_spawn_fails_the_task_with_the_message() {
    let mut executor = launched();
    let actions = executor
        .on_event(Event::SpawnFailed(SpawnFailure {
            id: 1,
            message: "No such file or directory".into(),
        }))
        .expect("spawn failure");
    assert_eq!(
        actions,
        [
            failed("Failed to launch the command: No such file or directory"),
            Action::Done
        ]
    );
}

#[test]
fn a_kill_before_launch_ends_the_task() {
    let mut executor = CommandExecutor::default();
    let actions = executor.on_event(Event::Kill(3_000)).expect("kill");
    assert!(matches!(
        &actions[..],
        [
            Action::SendStatus(Status {
                state: TaskState::Killed,
                ..
            }),
            Action::Done
        ]
    ));
}

#[test]
fn events_that_make_no_sense_are_errors_or_ignored() {
    let mut executor = launched();
    assert!(
        executor
            .on_event(Event::TimerFired(1))
            .expect("timer")
            .is_empty(),
        "no kill in progress"
    );
    let error = executor
        .on_event(Event::Exited(ProcessExit {
            id: 7,
            code: Some(0),
            signal: None,
        }))
        .expect_err("unknown process");
    assert!(error.contains("unknown process 7"), "{error}");
    executor.on_event(exited(Some(0), None)).expect("exit");
    assert!(
        executor.on_event(exited(Some(0), None)).is_err(),
        "exit after the end"
    );
}
