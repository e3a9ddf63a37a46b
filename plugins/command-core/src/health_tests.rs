//! The health check policy driven with a simulated clock.

use std::cell::Cell;

use corral_sdk::executor::{
    Action, CheckResult, CommandInfo, Event, Executor, HealthCheck, ProcessExit, RunCheck,
    SendSignal, Status, TaskInfo, TaskState, Timer,
};
use corral_sdk::types::CheckKind;

use crate::CommandExecutor;

thread_local! {
    static NOW: Cell<u64> = const { Cell::new(1_000_000) };
}

fn now() -> u64 {
    NOW.with(Cell::get)
}

fn advance(ms: u64) {
    NOW.with(|n| n.set(n.get() + ms));
}

fn check(failures: u32, grace_s: f64) -> HealthCheck {
    HealthCheck {
        kind: CheckKind::Tcp(8080),
        delay_seconds: 1.0,
        interval_seconds: 2.0,
        timeout_seconds: 1.0,
        consecutive_failures: failures,
        grace_period_seconds: grace_s,
    }
}

fn launched(health: HealthCheck) -> (CommandExecutor, Vec<Action>) {
    let mut executor = CommandExecutor {
        clock: Some(now),
        ..Default::default()
    };
    let task = TaskInfo {
        task_id: "t1".into(),
        name: "t1".into(),
        framework_id: "f1".into(),
        agent_id: "a1".into(),
        container_id: "c1".into(),
        resources: vec![],
        command: Some(CommandInfo {
            shell: true,
            value: "sleep 100".into(),
            arguments: vec![],
            environment: vec![],
            user: None,
        }),
        labels: vec![],
        kill_grace_period_ms: Some(500),
        health_check: Some(health),
        sandbox: "/tmp/sandbox".into(),
    };
    let actions = executor.launch(task).expect("launches");
    (executor, actions)
}

/// Fires the health timer and returns the check the executor asked for.
fn attempt(executor: &mut CommandExecutor) -> RunCheck {
    let actions = executor
        .on_event(Event::TimerFired(2))
        .expect("timer fires");
    match actions.as_slice() {
        [Action::Check(run)] => run.clone(),
        other => panic!("expected one check action, got {other:?}"),
    }
}

fn result(executor: &mut CommandExecutor, id: u32, healthy: bool) -> Vec<Action> {
    executor
        .on_event(Event::CheckFinished(CheckResult {
            id,
            healthy,
            message: if healthy {
                "ok".into()
            } else {
                "refused".into()
            },
        }))
        .expect("result")
}

fn health_update(healthy: bool, message: &str) -> Action {
    let mut status = Status::new(TaskState::Running)
        .with_reason("REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")
        .with_message(message);
    status.healthy = Some(healthy);
    Action::SendStatus(status)
}

const NEXT: Action = Action::SetTimer(Timer {
    id: 2,
    after_ms: 2_000,
});

#[test]
fn launch_schedules_the_first_check_after_the_delay() {
    let (_, actions) = launched(check(3, 0.0));
    assert_eq!(
        actions.last(),
        Some(&Action::SetTimer(Timer {
            id: 2,
            after_ms: 1_000
        }))
    );
}

#[test]
fn health_is_reported_when_it_changes_only() {
    let (mut executor, _) = launched(check(3, 0.0));
    let first = attempt(&mut executor);
    assert_eq!(first.check, check(3, 0.0));
    assert_eq!(
        result(&mut executor, first.id, true),
        [health_update(true, "ok"), NEXT]
    );
    let second = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, second.id, true),
        [NEXT],
        "no change, no update"
    );
    let third = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, third.id, false),
        [health_update(false, "refused"), NEXT]
    );
    let fourth = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, fourth.id, true),
        [health_update(true, "ok"), NEXT],
        "a success resets the failure count and is reported"
    );
}

#[test]
fn consecutive_failures_kill_the_task_which_ends_killed_and_unhealthy() {
    let (mut executor, _) = launched(check(2, 0.0));
    let first = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, first.id, false),
        [health_update(false, "refused"), NEXT]
    );
    let second = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, second.id, false),
        [
            health_update(false, "refused"),
            Action::SendStatus(Status::new(TaskState::Killing)),
            Action::Signal(SendSignal { id: 1, signal: 15 }),
            Action::SetTimer(Timer {
                id: 1,
                after_ms: 500
            }),
        ]
    );
    // Timers and results that arrive during the kill change nothing.
    assert_eq!(executor.on_event(Event::TimerFired(2)).expect("timer"), []);
    let actions = executor
        .on_event(Event::Exited(ProcessExit {
            id: 1,
            code: None,
            signal: Some(15),
        }))
        .expect("exit");
    let mut killed = Status::new(TaskState::Killed).with_message(
        "Command terminated with signal SIGTERM \
         (killed after 2 consecutive failed health checks: refused)",
    );
    killed.healthy = Some(false);
    assert_eq!(
        actions,
        [
            Action::CancelTimer(1),
            Action::CancelTimer(2),
            Action::SendStatus(killed),
            Action::Done
        ]
    );
}

#[test]
fn failures_within_the_grace_period_are_ignored() {
    let (mut executor, _) = launched(check(1, 10.0));
    advance(1_000);
    let first = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, first.id, false),
        [NEXT],
        "ignored in grace"
    );
    advance(2_000);
    let second = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, second.id, false),
        [NEXT],
        "still in grace"
    );
    advance(8_000);
    let third = attempt(&mut executor);
    let actions = result(&mut executor, third.id, false);
    assert_eq!(actions[0], health_update(false, "refused"));
    assert_eq!(
        actions[1],
        Action::SendStatus(Status::new(TaskState::Killing))
    );
}

#[test]
fn the_grace_period_ends_at_the_first_success() {
    let (mut executor, _) = launched(check(1, 60.0));
    let first = attempt(&mut executor);
    assert_eq!(
        result(&mut executor, first.id, true),
        [health_update(true, "ok"), NEXT]
    );
    advance(2_000);
    let second = attempt(&mut executor);
    let actions = result(&mut executor, second.id, false);
    assert_eq!(actions[0], health_update(false, "refused"));
    assert_eq!(
        actions[1],
        Action::SendStatus(Status::new(TaskState::Killing))
    );
}

#[test]
fn stale_results_and_overlapping_timers_are_ignored() {
    let (mut executor, _) = launched(check(1, 0.0));
    let first = attempt(&mut executor);
    assert_eq!(
        executor.on_event(Event::TimerFired(2)).expect("timer"),
        [],
        "no second attempt while one runs"
    );
    assert_eq!(
        result(&mut executor, first.id + 7, false),
        [],
        "unknown check id"
    );
    assert_eq!(
        result(&mut executor, first.id, true),
        [health_update(true, "ok"), NEXT]
    );
}

#[test]
fn a_task_without_a_health_check_never_checks() {
    let (mut executor, _) = launched(check(1, 0.0));
    executor.health = None;
    assert_eq!(executor.on_event(Event::TimerFired(2)).expect("timer"), []);
    assert_eq!(result(&mut executor, 1, false), []);
}
