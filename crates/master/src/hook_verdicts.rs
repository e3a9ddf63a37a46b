//! The master's hook points (issue 6) as data: what the `on-launch` and `on-agent-register`
//! hooks are asked, and their verdicts. The shell runs the hook chain outside the core's lock
//! (`hook_calls.rs`) and hands the verdicts to the core, which only applies them, so the core
//! stays deterministic and is tested without plugins.

use std::collections::BTreeMap;

use corral_api::v1::{Resource, TaskInfo};
use corral_plugin_host::allocator::FrameworkSnapshot;

/// A task of an ACCEPT that passed validation and waits for `on-launch`.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchHookRequest {
    /// The task's position among all the LAUNCH tasks of the call, in order.
    pub index: usize,
    pub task: TaskInfo,
    /// The framework as the hooks see it: the role the task is launched under comes first.
    pub framework: FrameworkSnapshot,
    /// The user the task runs as (what `run_tasks` authorizes).
    pub user: String,
}

/// What the `on-launch` hooks decided for one task.
#[derive(Debug, Clone, PartialEq)]
pub enum LaunchHookVerdict {
    /// Launch it as the hooks decorated it (labels, command environment).
    Allow(Box<TaskInfo>),
    /// Refuse it: TASK_ERROR naming the hook and its reason.
    Deny { hook: String, reason: String },
    /// The authorizer refused it (`run_tasks`): TASK_ERROR with its message.
    Unauthorized(String),
}

/// The launch hooks as one scheduler call sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LaunchHooks {
    /// No hooks are configured: every valid task launches as sent.
    #[default]
    Off,
    /// Hooks are configured; the verdicts given so far, by [`LaunchHookRequest::index`]. A
    /// task that reaches the hook point without one makes the ACCEPT wait for it.
    Verdicts(BTreeMap<usize, LaunchHookVerdict>),
}

impl LaunchHooks {
    /// Hooks are configured and none has answered yet.
    pub fn awaiting() -> Self {
        LaunchHooks::Verdicts(BTreeMap::new())
    }

    pub fn add(&mut self, verdicts: impl IntoIterator<Item = (usize, LaunchHookVerdict)>) {
        if let LaunchHooks::Verdicts(known) = self {
            known.extend(verdicts);
        }
    }
}

/// What the `on-agent-register` hooks decided for a registering agent. The default (no
/// hooks, or hooks that add nothing) registers the agent as it reported itself.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentHookVerdict {
    /// Add these resources, and these text attributes (name, value; an attribute of the
    /// same name is replaced).
    Decorate {
        resources: Vec<Resource>,
        attributes: Vec<(String, String)>,
    },
    /// Refuse the registration (a fail-closed hook failed), with the reason.
    Refuse(String),
}

impl Default for AgentHookVerdict {
    fn default() -> Self {
        AgentHookVerdict::Decorate {
            resources: Vec::new(),
            attributes: Vec::new(),
        }
    }
}
