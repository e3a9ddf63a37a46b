//! The plan as a pure function of the world and a simulated clock.

use serde_json::json;

use corral_api::v1::{TaskId, TaskState, TaskStatus};

use super::super::backoff::Delay;
use super::*;
use crate::parse::{ParseContext, parse_app};
use crate::time::Timestamp;

pub(crate) fn app(body: serde_json::Value, version_ms: u64) -> App {
    let ctx = ParseContext {
        framework_role: "*".into(),
        version: Timestamp(version_ms),
    };
    let mut app = parse_app(&body, &ctx).expect("valid app");
    app.version_info = Some(crate::model::strategy::VersionInfo {
        last_scaling_at: Timestamp(version_ms),
        last_config_change_at: Timestamp(version_ms),
    });
    app
}

pub(crate) fn task(app: &App, n: u32, state: TaskState, staged_ms: u64) -> TaskRecord {
    TaskRecord {
        id: format!("{}.{n:08}", app.path_id().safe()),
        app_id: app.id.clone(),
        version: app.version,
        config_version: app.config_version(),
        agent_id: "agent-1".into(),
        host: format!("host-{n}"),
        attributes: Vec::new(),
        ports: vec![31000 + n],
        state,
        staged_at: Timestamp(staged_ms),
        started_at: None,
        ip_addresses: Vec::new(),
        kill_requested_at: None,
        unreachable_since: None,
        healthy: None,
    }
}

fn world(apps: &[App], tasks: &[TaskRecord]) -> World {
    let mut world = World::default();
    for a in apps {
        world.apps.insert(a.id.clone(), a.clone());
    }
    for t in tasks {
        world.tasks.insert(t.id.clone(), t.clone());
    }
    world
}

/// `w` with a deployment restarting `/web` in its current step.
pub(crate) fn restarting(mut w: World) -> World {
    let d = crate::deployments::Deployment::new(
        "restart".into(),
        Timestamp(5_000),
        &[("/web".into(), crate::deployments::Change::Restart)],
        &Default::default(),
        Vec::new(),
    );
    w.deployments.insert(d.id.clone(), d);
    w
}

fn killed(plan: &Plan) -> Vec<&str> {
    plan.kills.iter().map(|k| k.task_id.as_str()).collect()
}

#[test]
fn launches_what_is_missing_and_wants_offers_only_then() {
    let web = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 3}),
        1_000,
    );
    let running = task(&web, 1, TaskState::TaskRunning, 1_000);
    let plan = plan(
        &world(std::slice::from_ref(&web), std::slice::from_ref(&running)),
        2_000,
    );
    assert_eq!(plan.launches_for("/web"), 2);
    assert!(plan.wants_offers());
    assert!(plan.kills.is_empty());
    let full: Vec<TaskRecord> = (1..=3)
        .map(|n| task(&web, n, TaskState::TaskRunning, 1_000))
        .collect();
    let plan = super::plan(&world(&[web], &full), 2_000);
    assert_eq!(plan, Plan::default(), "nothing to do: no offers wanted");
}

#[test]
fn scaling_down_kills_the_youngest_first_or_the_oldest_when_asked() {
    let web = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 1}),
        1_000,
    );
    let tasks = [
        task(&web, 1, TaskState::TaskRunning, 1_000),
        task(&web, 2, TaskState::TaskRunning, 3_000),
        task(&web, 3, TaskState::TaskRunning, 2_000),
    ];
    let plan = plan(&world(std::slice::from_ref(&web), &tasks), 5_000);
    assert_eq!(killed(&plan), ["web.00000002", "web.00000003"]);
    assert_eq!(plan.launches_for("/web"), 0);

    let oldest = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 2, "killSelection": "OLDEST_FIRST"}),
        1_000,
    );
    let plan = super::plan(&world(&[oldest], &tasks), 5_000);
    assert_eq!(killed(&plan), ["web.00000001"]);
}

#[test]
fn tasks_not_yet_running_go_before_running_ones() {
    let web = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 1}),
        1_000,
    );
    let tasks = [
        task(&web, 1, TaskState::TaskStaging, 1_000),
        task(&web, 2, TaskState::TaskRunning, 2_000),
    ];
    assert_eq!(
        killed(&plan(&world(&[web], &tasks), 3_000)),
        ["web.00000001"]
    );
}

#[test]
fn a_killed_task_is_not_counted_and_its_kill_is_resent_after_a_while() {
    let web = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 1}),
        1_000,
    );
    let mut dying = task(&web, 1, TaskState::TaskRunning, 1_000);
    dying.kill_requested_at = Some(10_000);
    let w = world(&[web], &[dying]);
    let soon = plan(&w, 10_000 + KILL_RETRY_MS - 1);
    assert_eq!(soon.launches_for("/web"), 1, "a replacement is launched");
    assert!(soon.kills.is_empty(), "the kill is not resent yet");
    let later = plan(&w, 10_000 + KILL_RETRY_MS);
    assert_eq!(killed(&later), ["web.00000001"]);
}

#[test]
fn tasks_of_a_deleted_app_are_killed() {
    let web = app(json!({"id": "/web", "cmd": "sleep 1"}), 1_000);
    let orphan = task(&web, 1, TaskState::TaskRunning, 1_000);
    let plan = plan(&world(&[], &[orphan]), 2_000);
    assert_eq!(killed(&plan), ["web.00000001"]);
    assert!(!plan.wants_offers());
}

#[test]
fn backoff_holds_launches_until_its_deadline() {
    let web = app(
        json!({"id": "/web", "cmd": "sleep 1", "backoffSeconds": 2, "backoffFactor": 3, "maxLaunchDelaySeconds": 10}),
        1_000,
    );
    let mut w = world(std::slice::from_ref(&web), &[]);
    // Three failures in a row: 2 s, 6 s, then capped at 10 s.
    let first = Delay::first(&web, 100_000);
    assert_eq!(first.delay_ms, 2_000);
    let second = first.increased(&web, 101_000);
    assert_eq!(second.delay_ms, 6_000);
    let third = second.increased(&web, 102_000);
    assert_eq!(third.delay_ms, 10_000);
    w.delays.insert(web.id.clone(), third);
    let during = plan(&w, 111_999);
    assert!(!during.wants_offers());
    assert_eq!(during.delayed_until, Some(112_000));
    let after = plan(&w, 112_000);
    assert_eq!(after.launches_for("/web"), 1);
    // A new configuration is not held by the old one's failures.
    let changed = app(json!({"id": "/web", "cmd": "sleep 2"}), 105_000);
    w.apps.insert(changed.id.clone(), changed);
    assert!(plan(&w, 106_000).wants_offers());
}

#[test]
fn a_failure_delays_the_app_through_the_world() {
    let web = app(json!({"id": "/web", "cmd": "sleep 1"}), 1_000);
    let t = task(&web, 1, TaskState::TaskRunning, 1_000);
    let mut w = world(&[web], std::slice::from_ref(&t));
    let failed = TaskStatus {
        task_id: TaskId::new(t.id.clone()),
        state: TaskState::TaskFailed,
        ..TaskStatus::default()
    };
    w.apply_status(&failed, 50_000);
    assert!(
        !plan(&w, 50_500).wants_offers(),
        "held for backoffSeconds (1 s)"
    );
    assert_eq!(plan(&w, 51_000).launches_for("/web"), 1);
}

#[test]
fn a_new_configuration_rolls_out_within_the_upgrade_strategy() {
    let old = app(
        json!({"id": "/web", "cmd": "sleep 1", "instances": 2}),
        1_000,
    );
    let old_tasks = [
        task(&old, 1, TaskState::TaskRunning, 1_000),
        task(&old, 2, TaskState::TaskRunning, 1_000),
    ];
    // Default strategy (1, 1): all new tasks first, old ones only once they run.
    let new = app(
        json!({"id": "/web", "cmd": "sleep 2", "instances": 2}),
        5_000,
    );
    let w = restarting(world(std::slice::from_ref(&new), &old_tasks));
    let start = plan(&w, 6_000);
    assert_eq!(start.launches_for("/web"), 2);
    assert!(start.kills.is_empty());
    let mut w = w;
    for n in 3..=4 {
        let t = task(&new, n, TaskState::TaskStaging, 6_000);
        w.tasks.insert(t.id.clone(), t);
    }
    assert!(plan(&w, 7_000).kills.is_empty(), "new tasks do not run yet");
    for t in w
        .tasks
        .values_mut()
        .filter(|t| t.config_version == new.config_version())
    {
        t.state = TaskState::TaskRunning;
    }
    assert_eq!(killed(&plan(&w, 8_000)), ["web.00000001", "web.00000002"]);

    // (0.5, 0): one old task goes first, then one new one starts, and so on.
    let careful = app(
        json!({"id": "/web", "cmd": "sleep 2", "instances": 2,
               "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0}}),
        5_000,
    );
    let w = restarting(world(&[careful], &old_tasks));
    let first = plan(&w, 6_000);
    assert_eq!(first.launches_for("/web"), 0, "no room above instances");
    assert_eq!(first.kills.len(), 1, "one old task makes room");
}

#[test]
fn unreachable_tasks_are_replaced_after_inactive_and_killed_after_expunge() {
    let web = app(
        json!({"id": "/web", "cmd": "sleep 1",
               "unreachableStrategy": {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 120}}),
        1_000,
    );
    let mut lost = task(&web, 1, TaskState::TaskUnreachable, 1_000);
    lost.unreachable_since = Some(10_000);
    let w = world(&[web], &[lost]);
    assert_eq!(plan(&w, 69_999), Plan::default(), "still counted");
    let inactive = plan(&w, 70_000);
    assert_eq!(inactive.launches_for("/web"), 1);
    assert!(inactive.kills.is_empty());
    assert_eq!(killed(&plan(&w, 130_000)), ["web.00000001"]);
}

#[test]
fn a_round_of_launches_is_capped_in_the_plans_order() {
    let mut plan = Plan {
        launches: vec![
            Launches {
                app_id: "/a".into(),
                count: 300,
            },
            Launches {
                app_id: "/b".into(),
                count: 400,
            },
        ],
        delayed_until: None,
        delayed: Vec::new(),
        kills: Vec::new(),
    };
    assert!(plan.cap_launches(500));
    let counts: Vec<u32> = plan.launches.iter().map(|l| l.count).collect();
    assert_eq!(counts, [300, 200]);
    assert!(!plan.cap_launches(500), "already within the cap");
}
