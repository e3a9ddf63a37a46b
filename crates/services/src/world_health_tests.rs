//! Health and readiness as the world counts and shows them.

use serde_json::json;

use corral_api::v1::{TaskId, TaskState, TaskStatus};

use super::*;
use crate::health::state::Outcome;
use crate::scheduler::plan::tests::{app, task};

fn running_with_health(healthy: Option<bool>) -> TaskStatus {
    TaskStatus {
        task_id: TaskId::new("web.00000001"),
        state: TaskState::TaskRunning,
        healthy,
        ..TaskStatus::default()
    }
}

#[test]
fn a_mesos_check_report_makes_a_task_healthy_and_is_shown() {
    let web = app(
        json!({"id": "/web", "cmd": "x y", "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}]}),
        1_000,
    );
    let mut world = World::default();
    world.apps.insert(web.id.clone(), web.clone());
    let t = task(&web, 1, TaskState::TaskStaging, 1_000);
    world.tasks.insert(t.id.clone(), t.clone());
    world.apply_status(&running_with_health(None), 2_000);
    assert!(
        !world.is_healthy(&web, &world.tasks[&t.id]),
        "no report yet"
    );
    assert_eq!(world.health_counts("/web"), (0, 0));
    world.apply_status(&running_with_health(Some(true)), 3_000);
    assert!(world.is_healthy(&web, &world.tasks[&t.id]));
    assert_eq!(world.health_counts("/web"), (1, 0));
    let shown = world.task_json(&world.tasks[&t.id], &[]);
    assert_eq!(shown["healthCheckResults"][0]["alive"], true);
    world.apply_status(&running_with_health(Some(false)), 4_000);
    assert_eq!(world.health_counts("/web"), (0, 1));
    assert_eq!(
        world.task_json(&world.tasks[&t.id], &[])["healthCheckResults"][0]["consecutiveFailures"],
        1
    );
}

#[test]
fn marathon_checks_count_once_every_check_is_alive() {
    let web = app(
        json!({"id": "/web", "cmd": "x y", "portDefinitions": [{"port": 0}, {"port": 0}],
               "healthChecks": [{"protocol": "TCP", "portIndex": 0}, {"protocol": "HTTP", "portIndex": 1}]}),
        1_000,
    );
    let mut world = World::default();
    world.apps.insert(web.id.clone(), web.clone());
    let t = task(&web, 1, TaskState::TaskRunning, 1_000);
    world.tasks.insert(t.id.clone(), t.clone());
    let first = web.health_checks[0].clone();
    let second = web.health_checks[1].clone();
    world.health_of(&t.id, 2)[0].judge(&first, Outcome::Healthy, 0, 2_000);
    assert!(
        !world.is_healthy(&web, &t),
        "the second check has no result"
    );
    assert_eq!(
        world.health_counts("/web"),
        (0, 1),
        "a result, not all alive"
    );
    world.health_of(&t.id, 2)[1].judge(&second, Outcome::Healthy, 0, 2_000);
    assert!(world.is_healthy(&web, &t));
    assert_eq!(
        world.task_json(&t, &[])["healthCheckResults"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Its end forgets the results.
    let ended = TaskStatus {
        task_id: TaskId::new(t.id.clone()),
        state: TaskState::TaskFailed,
        ..TaskStatus::default()
    };
    world.apply_status(&ended, 3_000);
    assert!(world.health.is_empty());
}

#[test]
fn readiness_counts_for_tasks_launched_since_and_old_ones_were_ready() {
    let web = app(
        json!({"id": "/web", "cmd": "x y", "portDefinitions": [{"port": 0, "name": "http-api"}],
               "readinessChecks": [{"portName": "http-api"}]}),
        1_000,
    );
    let mut world = World::default();
    let old = task(&web, 1, TaskState::TaskRunning, 500);
    let new = task(&web, 2, TaskState::TaskRunning, 2_000);
    assert!(world.is_ready(&web, &old, Timestamp(1_000)));
    assert!(!world.is_ready(&web, &new, Timestamp(1_000)));
    let check = &web.readiness_checks[0];
    let mut readiness = Readiness::new(check, &new.id);
    readiness.judge(
        check,
        Ok(crate::health::probe::HttpAnswer {
            status: 200,
            content_type: String::new(),
            body: String::new(),
        }),
    );
    world.readiness.insert(new.id.clone(), readiness);
    assert!(world.is_ready(&web, &new, Timestamp(1_000)));
    world.tasks.insert(new.id.clone(), new);
    assert_eq!(world.readiness_json("/web")[0]["ready"], true);
}
