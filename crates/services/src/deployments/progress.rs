//! How far deployments are, from the world alone: the mode each app is in (what the planner
//! may do to it), whether an action is done, and moving deployments to their next step.
//!
//! An app no deployment is about is `Free`: the planner keeps `instances` tasks of it running,
//! whatever their version. An app whose action comes in a later step is `Hold`: nothing is
//! launched or killed for it yet (a `StartApplication` holds too: Marathon starts an app at 0
//! instances and scales it in a later step). In its step, an app is scaled (`Scale`) or
//! replaced by its new configuration within `upgradeStrategy` (`Restart`).

use super::{Action, CanaryState, Deployment, RESTART, SCALE, START, STOP};
use crate::time::Timestamp;
use crate::world::World;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Free,
    Hold,
    Scale,
    Restart(CanaryState),
}

/// The mode of `app_id` under the deployments of `world`.
pub fn mode(world: &World, app_id: &str) -> Mode {
    for deployment in world.deployments.values() {
        if !deployment.affects(app_id) {
            continue;
        }
        if let Some(action) = deployment
            .current_actions()
            .iter()
            .find(|a| a.app == app_id)
        {
            return match action.action.as_str() {
                SCALE => Mode::Scale,
                RESTART => {
                    Mode::Restart(deployment.canaries.get(app_id).copied().unwrap_or_default())
                }
                START => Mode::Hold,
                _ => Mode::Free,
            };
        }
        let later = deployment.steps[deployment.current.min(deployment.steps.len())..]
            .iter()
            .flatten()
            .any(|a| a.app == app_id);
        if later {
            return Mode::Hold;
        }
    }
    Mode::Free
}

/// Whether `action` has taken effect:
/// - `StartApplication`: at once (the app starts with no instance);
/// - `StopApplication`: no task of the app is left;
/// - `ScaleApplication`: the app has exactly `instances` tasks, each running, healthy and ready
///   (a task launched before `since`, the deployment's version, was ready then);
/// - `RestartApplication`: the same, and every task has the app's current configuration.
pub fn action_done(world: &World, action: &Action, since: Timestamp) -> bool {
    let mut tasks = world.tasks_of(&action.app).peekable();
    match action.action.as_str() {
        START => true,
        STOP => tasks.peek().is_none(),
        SCALE | RESTART => {
            let Some(app) = world.apps.get(&action.app) else {
                return tasks.peek().is_none();
            };
            let config = app.config_version();
            let mut count = 0u32;
            for task in tasks {
                let outdated = action.action == RESTART && task.config_version != config;
                if outdated
                    || task.kill_requested()
                    || !world.is_healthy(app, task)
                    || !world.is_ready(app, task, since)
                {
                    return false;
                }
                count += 1;
            }
            count == app.instances
        }
        _ => true,
    }
}

/// What moving deployments forward did.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Step `index` (0 is the first) of the deployment is done.
    StepDone { deployment: String, index: usize },
    /// Every step is done: the deployment is over.
    Finished { deployment: String },
}

/// Moves every deployment past the steps that are done, as far as they go; returns what
/// happened, in order. Finished deployments stay in the world for the caller to remove.
pub fn advance(world: &mut World) -> Vec<Progress> {
    let mut progress = Vec::new();
    let ids: Vec<String> = world.deployments.keys().cloned().collect();
    for id in ids {
        while let Some(deployment) = world.deployments.get(&id) {
            if deployment.is_finished() {
                progress.push(Progress::Finished {
                    deployment: id.clone(),
                });
                break;
            }
            if !step_done(world, deployment) {
                break;
            }
            let index = deployment.current;
            if let Some(d) = world.deployments.get_mut(&id) {
                d.current += 1;
            }
            progress.push(Progress::StepDone {
                deployment: id.clone(),
                index,
            });
        }
    }
    progress
}

fn step_done(world: &World, deployment: &Deployment) -> bool {
    deployment
        .current_actions()
        .iter()
        .all(|action| action_done(world, action, deployment.version))
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
