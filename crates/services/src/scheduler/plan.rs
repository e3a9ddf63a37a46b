//! What each app needs now, from the world alone: how many tasks to launch, which tasks to
//! kill. A pure function of the world and the clock, like the master's core.
//!
//! - An app runs `instances` tasks of its current configuration. Fewer: launch the rest
//!   (unless its launch delay holds). More: kill the surplus, unreachable and not yet running
//!   ones first, then by `killSelection`.
//! - After a configuration change, outdated tasks are replaced as `upgradeStrategy` allows:
//!   at most `instances * (1 + maximumOverCapacity)` tasks at once, at least
//!   `instances * minimumHealthCapacity` running.
//! - A task unreachable for `inactiveAfterSeconds` is replaced; after `expungeAfterSeconds`
//!   it is killed.
//! - Tasks of deleted apps are killed; a kill with no answer is sent again.

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
    pub kills: Vec<Kill>,
}

impl Plan {
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
        let (need, kills) = plan_app(app, &tasks, now_ms);
        plan.kills.extend(kills);
        if need == 0 {
            continue;
        }
        match world.delays.get(&app.id).filter(|d| d.holds(app, now_ms)) {
            Some(delay) => {
                let until = delay.deadline_ms();
                plan.delayed_until = Some(plan.delayed_until.map_or(until, |d| d.min(until)));
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

/// Tasks to launch and kills for one app.
fn plan_app(app: &App, tasks: &[&TaskRecord], now_ms: u64) -> (u32, Vec<Kill>) {
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
    let config = app.config_version();
    let (current, outdated): (Vec<&TaskRecord>, Vec<&TaskRecord>) =
        live.iter().partition(|t| t.config_version == config);
    let wanted = app.instances as usize;
    if outdated.is_empty() {
        if current.len() > wanted {
            kills.extend(by_kill_order(
                &current,
                app.kill_selection,
                current.len() - wanted,
            ));
        }
        return (count(wanted.saturating_sub(current.len())), kills);
    }
    let (need, upgrade_kills) = upgrade(app, &current, &outdated, live.len());
    kills.extend(upgrade_kills);
    (need, kills)
}

/// A rolling replacement of `outdated` tasks by `current` ones.
fn upgrade(
    app: &App,
    current: &[&TaskRecord],
    outdated: &[&TaskRecord],
    live: usize,
) -> (u32, Vec<Kill>) {
    let wanted = app.instances as usize;
    let strategy = app.upgrade_strategy;
    let max_total = wanted + (strategy.maximum_over_capacity * wanted as f64).floor() as usize;
    let min_healthy = (strategy.minimum_health_capacity * wanted as f64).ceil() as usize;
    let need = wanted
        .saturating_sub(current.len())
        .min(max_total.saturating_sub(live));
    let mut kills: Vec<Kill> = Vec::new();
    if current.len() > wanted {
        kills.extend(by_kill_order(
            current,
            app.kill_selection,
            current.len() - wanted,
        ));
    }
    // Outdated tasks that do not run yet serve nobody: replace them at once.
    let (running_old, waiting_old): (Vec<&TaskRecord>, Vec<&TaskRecord>) =
        outdated.iter().partition(|t| t.is_running());
    kills.extend(waiting_old.iter().map(|t| kill(t)));
    let running_new = current.iter().filter(|t| t.is_running()).count();
    let done = current.len() >= wanted && running_new >= wanted;
    let mut old_kills = if done {
        running_old.len()
    } else {
        (running_new + running_old.len())
            .saturating_sub(min_healthy)
            .min(running_old.len())
    };
    // With no room to launch and none to kill (minimumHealthCapacity 1 and
    // maximumOverCapacity 0), give up one old task so the upgrade moves.
    let waiting_new = current.iter().any(|t| !t.is_running());
    if need == 0 && old_kills == 0 && waiting_old.is_empty() && !waiting_new && !done {
        old_kills = 1.min(running_old.len());
    }
    kills.extend(by_kill_order(&running_old, app.kill_selection, old_kills));
    (count(need), kills)
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
