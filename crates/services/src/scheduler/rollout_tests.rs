//! Rolling restarts simulated one event at a time (a launch, a task starting, passing its
//! health check, or ending after its kill, in a pseudo-random order): after every event the
//! app never runs more than `instances * (1 + maximumOverCapacity)` tasks (one more when the
//! two bounds meet, as Marathon allows) nor has fewer than `ceil(instances *
//! minimumHealthCapacity)` healthy ones not being killed, and the restart ends with every
//! task replaced.

use serde_json::json;

use corral_api::v1::TaskState;

use super::tests::{app, restarting, task};
use super::{bounds, plan};
use crate::deployments::progress::{Progress, advance};
use crate::world::World;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn check(world: &World, max_total: usize, min_healthy: usize, context: &str) {
    let app = &world.apps["/web"];
    let total = world.tasks.len();
    let healthy = world
        .tasks
        .values()
        .filter(|t| !t.kill_requested() && world.is_healthy(app, t))
        .count();
    assert!(
        total <= max_total,
        "{context}: {total} tasks, at most {max_total}"
    );
    assert!(
        healthy >= min_healthy,
        "{context}: {healthy} healthy, at least {min_healthy}"
    );
}

/// Restarts an app of `instances` under (`minimum`, `maximum`) and returns the events taken.
fn simulate(instances: u32, minimum: f64, maximum: f64, health: bool, seed: u64) -> usize {
    let checks = if health {
        json!([{"protocol": "COMMAND", "command": {"value": "true"}}])
    } else {
        json!([])
    };
    let strategy = json!({"minimumHealthCapacity": minimum, "maximumOverCapacity": maximum});
    let old = app(
        json!({"id": "/web", "cmd": "v 1", "instances": instances, "healthChecks": checks, "upgradeStrategy": strategy}),
        1_000,
    );
    let new = app(
        json!({"id": "/web", "cmd": "v 2", "instances": instances, "healthChecks": checks, "upgradeStrategy": strategy}),
        5_000,
    );
    let (min_healthy, max_total) = bounds(&new);
    let mut world = World::default();
    world.apps.insert(new.id.clone(), new.clone());
    for n in 0..instances {
        let mut t = task(&old, n, TaskState::TaskRunning, 1_000);
        t.healthy = health.then_some(true);
        world.tasks.insert(t.id.clone(), t);
    }
    let mut world = restarting(world);
    let mut rng = Rng(seed);
    let mut next = 1_000;
    for events in 0..100_000 {
        let context = format!("({minimum}, {maximum}) health={health} seed={seed} event {events}");
        let p = plan(&world, 10_000);
        for kill in &p.kills {
            if let Some(t) = world.tasks.get_mut(&kill.task_id) {
                t.kill_requested_at = Some(10_000);
            }
        }
        for _ in 0..p.launches_for("/web") {
            let t = task(&new, next, TaskState::TaskStaging, 10_000);
            next += 1;
            world.tasks.insert(t.id.clone(), t);
            check(&world, max_total, min_healthy, &context);
        }
        // One event: a task starts, becomes healthy, or ends after its kill.
        let pending: Vec<String> = world
            .tasks
            .values()
            .filter(|t| t.kill_requested() || !t.is_running() || (health && t.healthy.is_none()))
            .map(|t| t.id.clone())
            .collect();
        if pending.is_empty() {
            if advance(&mut world).contains(&Progress::Finished {
                deployment: "restart".into(),
            }) {
                assert!(
                    world
                        .tasks
                        .values()
                        .all(|t| t.config_version == new.config_version())
                );
                assert_eq!(world.tasks.len(), instances as usize);
                return events;
            }
            panic!("{context}: stuck with nothing pending");
        }
        let id = &pending[rng.below(pending.len())];
        let t = world.tasks.get_mut(id).expect("pending task");
        if t.kill_requested() {
            world.tasks.remove(id);
        } else if !t.is_running() {
            t.state = TaskState::TaskRunning;
        } else {
            t.healthy = Some(true);
        }
        check(&world, max_total, min_healthy, &context);
        advance(&mut world);
    }
    panic!("the restart did not end");
}

#[test]
fn a_rollout_stays_within_its_bounds_at_every_event() {
    let strategies = [
        (1.0, 1.0),
        (1.0, 0.0),
        (0.5, 0.0),
        (0.0, 0.0),
        (0.9, 0.1),
        (0.5, 0.5),
    ];
    for (minimum, maximum) in strategies {
        for health in [false, true] {
            for seed in 1..=5 {
                simulate(10, minimum, maximum, health, seed);
            }
        }
    }
}

#[test]
fn bounds_are_marathons() {
    let web = |minimum: f64, maximum: f64| {
        app(
            json!({"id": "/web", "cmd": "x y", "instances": 10,
                   "upgradeStrategy": {"minimumHealthCapacity": minimum, "maximumOverCapacity": maximum}}),
            1_000,
        )
    };
    assert_eq!(bounds(&web(0.9, 0.1)), (9, 11));
    assert_eq!(bounds(&web(1.0, 0.0)), (10, 11), "one above when they meet");
    assert_eq!(bounds(&web(0.0, 1.0)), (0, 20));
    assert_eq!(bounds(&web(0.25, 0.0)), (3, 10), "healthy rounds up");
}
