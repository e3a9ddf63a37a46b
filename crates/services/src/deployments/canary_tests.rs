//! Canaries passing after `canaryHealthySeconds` of health, and failing into a rollback.

use serde_json::json;

use corral_api::v1::TaskState;

use super::*;
use crate::app_ops::commit::dependency_graph;
use crate::deployments::progress::{Mode, mode};
use crate::deployments::{Change, Deployment};
use crate::scheduler::plan::tests::{app, task};
use crate::tasks::json::TaskFailure;
use crate::time::Timestamp;

/// `/web` restarted at 5 s from `sleep 1` to `sleep 2`, its two old tasks running.
fn restarting(auto_rollback: bool) -> World {
    let strategy = json!({"canary": 1, "canaryHealthySeconds": 2, "autoRollback": auto_rollback});
    let old = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 2, "upgradeStrategy": strategy}),
        1_000,
    );
    let new = app(
        json!({"id": "/web", "cmd": "sleep 2", "instances": 2, "upgradeStrategy": strategy}),
        5_000,
    );
    let mut world = World::default();
    for n in 1..=2 {
        let t = task(&old, n, TaskState::TaskRunning, 2_000);
        world.tasks.insert(t.id.clone(), t);
    }
    world.apps.insert(new.id.clone(), new);
    let graph = dependency_graph(&world.apps, &world.groups);
    let changes = [("/web".to_string(), Change::Restart)];
    let d = Deployment::new("d1".into(), Timestamp(5_000), &changes, &graph, Vec::new());
    world.deployments.insert(d.id.clone(), d);
    world
}

#[test]
fn a_canary_passes_once_healthy_for_its_seconds() {
    let mut world = restarting(false);
    assert_eq!(
        watch(&mut world, 6_000),
        Watched::default(),
        "no canary yet"
    );
    let new = world.apps["/web"].clone();
    let canary = task(&new, 3, TaskState::TaskRunning, 5_500);
    world.tasks.insert(canary.id.clone(), canary);
    let watched = watch(&mut world, 6_000);
    assert_eq!(watched.changed, ["d1"]);
    assert!(
        matches!(mode(&world, "/web"), Mode::Restart(c) if !c.passed && c.healthy_since == Some(6_000))
    );
    assert!(
        watch(&mut world, 7_000).changed.is_empty(),
        "one second is not two"
    );
    assert_eq!(watch(&mut world, 8_000).changed, ["d1"]);
    assert!(matches!(mode(&world, "/web"), Mode::Restart(c) if c.passed));
}

#[test]
fn a_failed_canary_is_rolled_back_only_with_auto_rollback() {
    for auto_rollback in [false, true] {
        let mut world = restarting(auto_rollback);
        world.failures.insert(
            "/web".into(),
            TaskFailure {
                app_id: "/web".into(),
                host: "host-3".into(),
                message: "exited 1".into(),
                state: "TASK_FAILED".into(),
                task_id: "web.00000003".into(),
                timestamp: Timestamp(5_800),
                version: Timestamp(5_000),
                slave_id: None,
            },
        );
        let failed = watch(&mut world, 6_000).failed;
        if auto_rollback {
            assert_eq!(
                failed,
                [Failed {
                    deployment: "d1".into(),
                    app: "/web".into()
                }]
            );
        } else {
            assert!(failed.is_empty());
        }
    }
}

#[test]
fn a_canary_killed_for_failing_its_health_checks_fails_with_auto_rollback() {
    let mut world = restarting(true);
    world
        .unhealthy_kills
        .insert("/web".into(), Timestamp(5_000));
    assert_eq!(
        watch(&mut world, 6_000).failed,
        [Failed {
            deployment: "d1".into(),
            app: "/web".into(),
        }]
    );
    // An old task killed unhealthy (an earlier version) says nothing of the canary.
    let mut world = restarting(true);
    world
        .unhealthy_kills
        .insert("/web".into(), Timestamp(1_000));
    assert!(watch(&mut world, 6_000).failed.is_empty());
}
