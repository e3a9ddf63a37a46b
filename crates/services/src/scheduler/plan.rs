//! What each app needs now, from the world alone: how many tasks to launch, which tasks to
//! kill. A pure function of the world and the clock, like the master's core.
//!
//! - An app runs `instances` tasks of its current configuration. Fewer: launch the rest
//!   (unless its launch delay holds). More: kill the surplus, unreachable and not yet running
//!   ones first, then by `killSelection`.
//! - What an app gets depends on its deployment (`deployments::progress::Mode`): nothing
//!   while its step has not come; its `instances` (of any version) when free or scaled; in a
//!   restart step, outdated tasks are replaced as `upgradeStrategy` allows (see [`Rollout`]).
//! - A task unreachable for `inactiveAfterSeconds` is replaced; after `expungeAfterSeconds`
//!   it is killed.
//! - Tasks of deleted apps are killed; a kill with no answer is sent again.

use crate::deployments::CanaryState;
use crate::deployments::progress::{self, Mode};
use crate::model::App;
use crate::model::strategy::{KillSelection, UnreachableStrategy};
use crate::tasks::TaskRecord;
use crate::world::World;

/// How long a kill may go unanswered before it is sent again.
pub const KILL_RETRY_MS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launches {
    pub app_id: String,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Kill {
    pub task_id: String,
    pub agent_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Apps that need tasks launched now, in app id order.
    pub launches: Vec<Launches>,
    /// The earliest end of a launch delay that holds back an app needing tasks.
    pub delayed_until: Option<u64>,
    /// Apps that need tasks but whose launch delay holds them back.
    pub delayed: Vec<Launches>,
    pub kills: Vec<Kill>,
}

impl Plan {
    /// Lowers the launches to `max` tasks in all, in the plan's order; whether any was
    /// lowered.
    pub fn cap_launches(&mut self, max: u32) -> bool {
        let mut left = max;
        let mut capped = false;
        for launch in &mut self.launches {
            let take = launch.count.min(left);
            capped |= take < launch.count;
            launch.count = take;
            left -= take;
        }
        capped
    }

    /// Whether offers are of any use now.
    pub fn wants_offers(&self) -> bool {
        !self.launches.is_empty()
    }

    pub fn launches_for(&self, app_id: &str) -> u32 {
        self.launches
            .iter()
            .find(|l| l.app_id == app_id)
            .map_or(0, |l| l.count)
    }
}

pub fn plan(world: &World, now_ms: u64) -> Plan {
    let mut plan = Plan::default();
    for app in world.apps.values() {
        let tasks: Vec<&TaskRecord> = world.tasks_of(&app.id).collect();
        let mode = progress::mode(world, &app.id);
        let (need, kills) = plan_app(world, app, &tasks, mode, now_ms);
        plan.kills.extend(kills);
        if need == 0 {
            continue;
        }
        match world.delays.get(&app.id).filter(|d| d.holds(app, now_ms)) {
            Some(delay) => {
                let until = delay.deadline_ms();
                plan.delayed_until = Some(plan.delayed_until.map_or(until, |d| d.min(until)));
                plan.delayed.push(Launches {
                    app_id: app.id.clone(),
                    count: need,
                });
            }
            None => plan.launches.push(Launches {
                app_id: app.id.clone(),
                count: need,
            }),
        }
    }
    for task in world.tasks.values() {
        if !world.apps.contains_key(&task.app_id) && kill_due(task, now_ms) {
            plan.kills.push(kill(task));
        }
    }
    plan.kills.sort();
    plan.kills.dedup();
    plan
}

/// Tasks to launch and kills for one app in `mode`.
fn plan_app(
    world: &World,
    app: &App,
    tasks: &[&TaskRecord],
    mode: Mode,
    now_ms: u64,
) -> (u32, Vec<Kill>) {
    let mut kills: Vec<Kill> = tasks
        .iter()
        .filter(|t| t.kill_requested() && kill_due(t, now_ms))
        .map(|t| kill(t))
        .collect();
    let (inactive_ms, expunge_ms) = match app.unreachable_strategy {
        UnreachableStrategy::Enabled {
            inactive_after_seconds,
            expunge_after_seconds,
        } => (
            Some(inactive_after_seconds.saturating_mul(1000)),
            Some(expunge_after_seconds.saturating_mul(1000)),
        ),
        UnreachableStrategy::Disabled(_) => (None, None),
    };
    let unreachable_for = |t: &TaskRecord, limit: Option<u64>| match (t.unreachable_since, limit) {
        (Some(since), Some(limit)) => now_ms.saturating_sub(since) >= limit,
        _ => false,
    };
    let live: Vec<&TaskRecord> = tasks
        .iter()
        .copied()
        .filter(|t| !t.kill_requested() && !unreachable_for(t, inactive_ms))
        .collect();
    kills.extend(
        tasks
            .iter()
            .filter(|t| !t.kill_requested() && unreachable_for(t, expunge_ms))
            .map(|t| kill(t)),
    );
    let wanted = app.instances as usize;
    match mode {
        Mode::Hold => (0, kills),
        Mode::Free | Mode::Scale => {
            if live.len() > wanted {
                kills.extend(by_kill_order(
                    &live,
                    app.kill_selection,
                    live.len() - wanted,
                ));
            }
            (count(wanted.saturating_sub(live.len())), kills)
        }
        Mode::Restart(canary) => {
            let config = app.config_version();
            let (current, outdated): (Vec<&TaskRecord>, Vec<&TaskRecord>) =
                live.iter().partition(|t| t.config_version == config);
            // Tasks asked to die still run (and take resources) until they end.
            let dying = tasks.iter().filter(|t| t.kill_requested()).count();
            let rollout = Rollout {
                world,
                app,
                current: &current,
                outdated: &outdated,
                dying,
                canary,
            };
            let (need, upgrade_kills) = rollout.plan();
            kills.extend(upgrade_kills);
            (need, kills)
        }
    }
}

/// A rolling replacement of `outdated` tasks by `current` ones (Marathon's TaskReplaceActor,
/// as a function of the moment): at most `instances * (1 + maximumOverCapacity)` tasks at
/// once, at least `ceil(instances * minimumHealthCapacity)` healthy (running, passing their
/// health checks, ready) ones kept. When the two bounds are equal one task above capacity is
/// allowed, so the rollout can move (as Marathon does). With `canary` set, that many new
/// tasks come first and no old one is killed until they passed.
struct Rollout<'a> {
    world: &'a World,
    app: &'a App,
    current: &'a [&'a TaskRecord],
    outdated: &'a [&'a TaskRecord],
    dying: usize,
    canary: CanaryState,
}

impl Rollout<'_> {
    fn plan(&self) -> (u32, Vec<Kill>) {
        let app = self.app;
        let wanted = app.instances as usize;
        let (min_healthy, max_total) = bounds(app);
        let mut kills: Vec<Kill> = Vec::new();
        if self.current.len() > wanted {
            kills.extend(by_kill_order(
                self.current,
                app.kill_selection,
                self.current.len() - wanted,
            ));
        }
        let total = self.current.len() + self.outdated.len() + self.dying;
        let missing = wanted.saturating_sub(self.current.len());
        let canaries = app.upgrade_strategy.canary.unwrap_or(0) as usize;
        if canaries > 0 && !self.canary.passed && !self.outdated.is_empty() {
            // Canaries first, beside the old tasks (whatever the capacity); nothing old goes.
            let need = canaries.min(wanted).saturating_sub(self.current.len());
            return (count(need), kills);
        }
        let need = missing.min(max_total.saturating_sub(total));
        // New tasks count once healthy and ready; old ones once healthy.
        let since = app.config_version();
        let new_and_healthy =
            |t: &&&TaskRecord| self.world.is_healthy(app, t) && self.world.is_ready(app, t, since);
        // Old tasks that are not healthy serve nobody: replace them at once.
        let (healthy_old, unhealthy_old): (Vec<&TaskRecord>, Vec<&TaskRecord>) = self
            .outdated
            .iter()
            .partition(|t| self.world.is_healthy(app, t));
        kills.extend(by_kill_order(
            &unhealthy_old,
            app.kill_selection,
            unhealthy_old.len(),
        ));
        let healthy_new = self.current.iter().filter(new_and_healthy).count();
        let old_kills = (healthy_old.len() + healthy_new.min(wanted))
            .saturating_sub(min_healthy)
            .min(healthy_old.len());
        kills.extend(by_kill_order(&healthy_old, app.kill_selection, old_kills));
        (count(need), kills)
    }
}

/// The upgrade strategy's bounds for `app`: the fewest healthy tasks to keep and the most
/// tasks to run at once.
pub fn bounds(app: &App) -> (usize, usize) {
    let wanted = app.instances as usize;
    let strategy = app.upgrade_strategy;
    let min_healthy = (strategy.minimum_health_capacity * wanted as f64).ceil() as usize;
    let mut max_total = wanted + (strategy.maximum_over_capacity * wanted as f64).floor() as usize;
    if min_healthy == max_total {
        max_total += 1;
    }
    (min_healthy, max_total)
}

/// The first `n` of `tasks` in kill order: unreachable, then not yet running, then running
/// ones by `selection` on their staging time.
fn by_kill_order(tasks: &[&TaskRecord], selection: KillSelection, n: usize) -> Vec<Kill> {
    let mut ordered: Vec<&TaskRecord> = tasks.to_vec();
    ordered.sort_by(|a, b| {
        let rank = |t: &TaskRecord| {
            if t.unreachable_since.is_some() {
                0
            } else if !t.is_running() {
                1
            } else {
                2
            }
        };
        let by_age = match selection {
            KillSelection::YoungestFirst => b.staged_at.cmp(&a.staged_at),
            KillSelection::OldestFirst => a.staged_at.cmp(&b.staged_at),
        };
        rank(a).cmp(&rank(b)).then(by_age).then(a.id.cmp(&b.id))
    });
    ordered.into_iter().take(n).map(kill).collect()
}

/// Whether a kill should be sent now: never asked, or asked long enough ago.
fn kill_due(task: &TaskRecord, now_ms: u64) -> bool {
    task.kill_requested_at
        .is_none_or(|at| now_ms.saturating_sub(at) >= KILL_RETRY_MS)
}

fn kill(task: &TaskRecord) -> Kill {
    Kill {
        task_id: task.id.clone(),
        agent_id: task.agent_id.clone(),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod rollout_tests;
