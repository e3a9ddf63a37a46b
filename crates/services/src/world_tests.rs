//! Status updates against the world: records, endings, delays, deployments.

use serde_json::json;

use corral_api::v1::{TaskId, TaskState, TaskStatus};

use super::*;
use crate::deployments::Change;
use crate::scheduler::plan::tests::{app, task};

fn status(id: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: TaskId::new(id),
        state,
        timestamp: Some(20.5),
        ..TaskStatus::default()
    }
}

fn world_with(app: &App, tasks: &[TaskRecord]) -> World {
    let mut world = World::default();
    world.apps.insert(app.id.clone(), app.clone());
    for t in tasks {
        world.tasks.insert(t.id.clone(), t.clone());
    }
    world
}

#[test]
fn running_records_the_start_time_once() {
    let web = app(json!({"id": "/web", "cmd": "x y"}), 1_000);
    let t = task(&web, 1, TaskState::TaskStaging, 1_000);
    let mut world = world_with(&web, std::slice::from_ref(&t));
    let StatusEffect::Updated(record) =
        world.apply_status(&status(&t.id, TaskState::TaskRunning), 30_000)
    else {
        panic!("the record changes");
    };
    assert_eq!(record.started_at, Some(Timestamp(20_500)));
    assert_eq!(
        world.apply_status(&status(&t.id, TaskState::TaskRunning), 31_000),
        StatusEffect::Nothing,
        "a repeated state changes nothing"
    );
}

#[test]
fn an_unexpected_end_delays_the_app_and_records_the_failure() {
    let web = app(json!({"id": "/web", "cmd": "x y"}), 1_000);
    let t = task(&web, 1, TaskState::TaskRunning, 1_000);
    let mut world = world_with(&web, std::slice::from_ref(&t));
    let mut failed = status(&t.id, TaskState::TaskFailed);
    failed.message = Some("Command exited with status 1".into());
    let effect = world.apply_status(&failed, 40_000);
    assert!(matches!(
        effect,
        StatusEffect::Ended {
            unexpected: true,
            ..
        }
    ));
    assert!(world.tasks.is_empty());
    assert!(world.delays["/web"].holds(&web, 40_500));
    let failure = world.failures["/web"].to_json();
    assert_eq!(failure["state"], "TASK_FAILED");
    assert_eq!(failure["message"], "Command exited with status 1");
    let mut keys: Vec<&String> = failure.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "appId",
            "host",
            "message",
            "slaveId",
            "state",
            "taskId",
            "timestamp",
            "version"
        ]
    );
}

#[test]
fn an_asked_for_kill_is_no_failure() {
    let web = app(json!({"id": "/web", "cmd": "x y"}), 1_000);
    let mut t = task(&web, 1, TaskState::TaskRunning, 1_000);
    t.kill_requested_at = Some(5_000);
    let mut world = world_with(&web, std::slice::from_ref(&t));
    let effect = world.apply_status(&status(&t.id, TaskState::TaskKilled), 6_000);
    assert!(matches!(
        effect,
        StatusEffect::Ended {
            unexpected: false,
            ..
        }
    ));
    assert!(world.delays.is_empty() && world.failures.is_empty());
}

#[test]
fn unknown_live_tasks_are_to_be_killed() {
    let mut world = World::default();
    assert_eq!(
        world.apply_status(&status("gone_app.1", TaskState::TaskRunning), 1),
        StatusEffect::KillUnknown
    );
    assert_eq!(
        world.apply_status(&status("gone_app.1", TaskState::TaskKilled), 1),
        StatusEffect::Nothing
    );
}

#[test]
fn a_deployment_is_done_when_the_current_configuration_runs_everywhere() {
    let web = app(json!({"id": "/web", "cmd": "x y", "instances": 2}), 1_000);
    let d = crate::deployments::Deployment::new(
        "d".into(),
        Timestamp(1_000),
        &[("/web".into(), Change::Create)],
        &Default::default(),
        Vec::new(),
    );
    let one = task(&web, 1, TaskState::TaskRunning, 1_000);
    let two = task(&web, 2, TaskState::TaskStaging, 1_000);
    let mut world = world_with(&web, &[one, two.clone()]);
    assert!(!world.deployment_done(&d));
    world.apply_status(&status(&two.id, TaskState::TaskRunning), 2_000);
    assert!(world.deployment_done(&d));
    assert_eq!(world.counts("/web"), (0, 2));
    // Deleted: done once no task is left.
    world.apps.clear();
    assert!(!world.app_settled("/web"));
    world.tasks.clear();
    assert!(world.app_settled("/web"));
}

#[test]
fn a_task_the_master_does_not_know_has_ended() {
    let web = app(json!({"id": "/web", "cmd": "x y"}), 1_000);
    let t = task(&web, 1, TaskState::TaskRunning, 1_000);
    let mut world = world_with(&web, std::slice::from_ref(&t));
    let effect = world.apply_status(&status(&t.id, TaskState::TaskUnknown), 2_000);
    assert!(matches!(
        effect,
        StatusEffect::Ended {
            unexpected: true,
            ..
        }
    ));
    assert!(world.tasks.is_empty(), "it will be replaced");
    assert_eq!(
        world.apply_status(&status("other.1", TaskState::TaskUnknown), 2_000),
        StatusEffect::Nothing
    );
}
