//! Canaries (`upgradeStrategy.canary`, beyond Marathon, as Nomad has them): in a restart
//! step the first `canary` tasks of the new configuration run beside the old ones (the
//! planner kills no old task meanwhile); once they have all been healthy and ready for
//! `canaryHealthySeconds` without a break, the canary passed and the rolling restart goes
//! on. A task of the new configuration that ends in failure, or is killed for failing its
//! health checks, fails the canary: with `autoRollback`, the driver rolls the deployment
//! back. Pure: the caller brings the clock.

use super::RESTART;
use crate::world::World;

/// A deployment whose canary failed, of an app with `autoRollback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub deployment: String,
    pub app: String,
}

/// What watching the canaries did.
#[derive(Debug, Default, PartialEq)]
pub struct Watched {
    /// Deployments whose canary state changed (to store).
    pub changed: Vec<String>,
    /// Failed canaries to roll back.
    pub failed: Vec<Failed>,
}

/// Brings every canary of the deployments' current steps up to `now_ms`.
pub fn watch(world: &mut World, now_ms: u64) -> Watched {
    let mut watched = Watched::default();
    let ids: Vec<String> = world.deployments.keys().cloned().collect();
    for id in ids {
        let Some(deployment) = world.deployments.get(&id) else {
            continue;
        };
        let since = deployment.version;
        let restarts: Vec<String> = deployment
            .current_actions()
            .iter()
            .filter(|a| a.action == RESTART)
            .map(|a| a.app.clone())
            .collect();
        for app_id in restarts {
            let Some(app) = world.apps.get(&app_id) else {
                continue;
            };
            let Some(canaries) = app.upgrade_strategy.canary.filter(|n| *n > 0) else {
                continue;
            };
            let state = world
                .deployments
                .get(&id)
                .and_then(|d| d.canaries.get(&app_id).copied())
                .unwrap_or_default();
            if state.passed {
                continue;
            }
            // A task launched by this deployment failed or was killed unhealthy: with
            // `autoRollback` that is the end of it; otherwise it is replaced and the canary
            // goes on.
            let roll_back = app.upgrade_strategy.auto_rollback == Some(true);
            let failed = world
                .failures
                .get(&app_id)
                .is_some_and(|f| f.version >= since)
                || world
                    .unhealthy_kills
                    .get(&app_id)
                    .is_some_and(|version| *version >= since);
            if roll_back && failed {
                watched.failed.push(Failed {
                    deployment: id.clone(),
                    app: app_id.clone(),
                });
                continue;
            }
            let config = app.config_version();
            let wanted = canaries.min(app.instances) as usize;
            let new: Vec<_> = world
                .tasks_of(&app_id)
                .filter(|t| t.config_version == config && !t.kill_requested())
                .collect();
            let all_good = new.len() >= wanted
                && new
                    .iter()
                    .all(|t| world.is_healthy(app, t) && world.is_ready(app, t, since));
            let mut next = state;
            if all_good {
                let from = state.healthy_since.unwrap_or(now_ms);
                next.healthy_since = Some(from);
                let hold_ms =
                    u64::from(app.upgrade_strategy.canary_healthy_seconds.unwrap_or(0)) * 1000;
                next.passed = now_ms.saturating_sub(from) >= hold_ms;
            } else {
                next.healthy_since = None;
            }
            if next != state {
                if let Some(d) = world.deployments.get_mut(&id) {
                    d.canaries.insert(app_id.clone(), next);
                }
                if !watched.changed.contains(&id) {
                    watched.changed.push(id.clone());
                }
            }
        }
    }
    watched
}

#[cfg(test)]
#[path = "canary_tests.rs"]
mod tests;
