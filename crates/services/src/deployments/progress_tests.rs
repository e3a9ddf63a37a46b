//! Deployments moving through their steps as tasks start, pass their checks and end.

use serde_json::json;

use corral_api::v1::TaskState;

use super::*;
use crate::app_ops::commit::dependency_graph;
use crate::deployments::Change;
use crate::model::App;
use crate::scheduler::plan::plan;
use crate::scheduler::plan::tests::{app, task};
use crate::time::Timestamp;

fn deploy(world: &mut World, changes: &[(&str, Change)]) -> String {
    let changes: Vec<(String, Change)> = changes.iter().map(|(a, c)| (a.to_string(), *c)).collect();
    let graph = dependency_graph(&world.apps, &world.groups);
    let d = Deployment::new("d1".into(), Timestamp(1_000), &changes, &graph, Vec::new());
    world.deployments.insert(d.id.clone(), d);
    "d1".into()
}

fn with_apps(apps: &[App]) -> World {
    let mut world = World::default();
    for a in apps {
        world.apps.insert(a.id.clone(), a.clone());
    }
    world
}

#[test]
fn a_new_app_is_held_at_start_then_scaled_then_done_when_running() {
    let web = app(json!({"id": "/web", "cmd": "x y", "instances": 2}), 1_000);
    let mut world = with_apps(std::slice::from_ref(&web));
    deploy(&mut world, &[("/web", Change::Create)]);
    assert_eq!(
        mode(&world, "/web"),
        Mode::Hold,
        "StartApplication: 0 instances"
    );
    assert_eq!(plan(&world, 2_000).launches_for("/web"), 0);
    // The start step is done at once; the scale step launches.
    assert_eq!(
        advance(&mut world),
        [Progress::StepDone {
            deployment: "d1".into(),
            index: 0
        }]
    );
    assert_eq!(mode(&world, "/web"), Mode::Scale);
    assert_eq!(plan(&world, 2_000).launches_for("/web"), 2);
    for n in 1..=2 {
        let t = task(&web, n, TaskState::TaskStaging, 2_000);
        world.tasks.insert(t.id.clone(), t);
    }
    assert!(advance(&mut world).is_empty(), "not running yet");
    for t in world.tasks.values_mut() {
        t.state = TaskState::TaskRunning;
    }
    assert_eq!(
        advance(&mut world),
        [
            Progress::StepDone {
                deployment: "d1".into(),
                index: 1
            },
            Progress::Finished {
                deployment: "d1".into()
            }
        ]
    );
    world.deployments.clear();
    assert_eq!(mode(&world, "/web"), Mode::Free);
}

#[test]
fn an_app_waits_for_the_app_it_depends_on() {
    let db = app(json!({"id": "/db", "cmd": "x y"}), 1_000);
    let web = app(
        json!({"id": "/web", "cmd": "x y", "dependencies": ["/db"]}),
        1_000,
    );
    let mut world = with_apps(&[db.clone(), web.clone()]);
    deploy(
        &mut world,
        &[("/web", Change::Create), ("/db", Change::Create)],
    );
    advance(&mut world);
    assert_eq!(mode(&world, "/db"), Mode::Scale);
    assert_eq!(mode(&world, "/web"), Mode::Hold);
    let p = plan(&world, 2_000);
    assert_eq!((p.launches_for("/db"), p.launches_for("/web")), (1, 0));
    let t = task(&db, 1, TaskState::TaskRunning, 2_000);
    world.tasks.insert(t.id.clone(), t);
    advance(&mut world);
    assert_eq!(
        mode(&world, "/web"),
        Mode::Scale,
        "db runs: web's step came"
    );
    assert_eq!(plan(&world, 3_000).launches_for("/web"), 1);
}

#[test]
fn a_scale_step_waits_for_health_and_a_stop_for_the_last_task() {
    let web = app(
        json!({"id": "/web", "cmd": "x y", "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}]}),
        1_000,
    );
    let mut world = with_apps(std::slice::from_ref(&web));
    let mut t = task(&web, 1, TaskState::TaskRunning, 1_000);
    world.tasks.insert(t.id.clone(), t.clone());
    deploy(&mut world, &[("/web", Change::Scale)]);
    assert!(
        advance(&mut world).is_empty(),
        "running but not yet healthy"
    );
    t.healthy = Some(true);
    world.tasks.insert(t.id.clone(), t.clone());
    assert_eq!(
        advance(&mut world).len(),
        2,
        "step done, deployment finished"
    );

    world.deployments.clear();
    world.apps.clear();
    deploy(&mut world, &[("/web", Change::Delete)]);
    assert_eq!(mode(&world, "/web"), Mode::Free);
    assert!(advance(&mut world).is_empty(), "its task still runs");
    world.tasks.clear();
    assert_eq!(advance(&mut world).len(), 2);
}

#[test]
fn a_restart_is_done_only_when_no_outdated_task_is_left() {
    let old = app(json!({"id": "/web", "cmd": "x y"}), 1_000);
    let new = app(json!({"id": "/web", "cmd": "x z"}), 5_000);
    let mut world = with_apps(std::slice::from_ref(&new));
    let outdated = task(&old, 1, TaskState::TaskRunning, 1_000);
    let current = task(&new, 2, TaskState::TaskRunning, 5_000);
    world.tasks.insert(outdated.id.clone(), outdated.clone());
    world.tasks.insert(current.id.clone(), current);
    deploy(&mut world, &[("/web", Change::Restart)]);
    assert!(matches!(mode(&world, "/web"), Mode::Restart(_)));
    assert!(advance(&mut world).is_empty());
    world.tasks.remove(&outdated.id);
    assert_eq!(advance(&mut world).len(), 2);
}
