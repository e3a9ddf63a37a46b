//! [`HookChain`]: the configured hooks, run in order at each hook point. Each hook is
//! fail-open (an error, trap or timeout lets the action go on without its decoration, and is
//! logged) or fail-closed (the same denies the action). A hook that fails many calls in a row
//! is quarantined (see [`Quarantine`]) and no longer called: it counts as failed.
//!
//! Calls are synchronous wasm calls bounded by each hook's deadline; one instance per hook,
//! behind its own lock, replaced after a trap or timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::allocator::{AgentSnapshot, FrameworkSnapshot};
use super::decorations::{EnvGrant, merge_env, merge_labels, variable_names, without_overrides};
pub use super::decorations::{add_status_labels, apply_to_task};
use super::engine::PluginEngine;
use super::error::PluginError;
use super::hook::{AgentDecoration, HOOK_LIMITS, HookFactory, HookInstance, LaunchDecision};
use super::plugin_kind::PluginLimits;
use super::plugin_task::PluginTask;
use super::quarantine::{Quarantine, QuarantineState};
use corral_api::v1;
use corral_http::prometheus::{Kind, MetricsText};

/// What a hook's failure does to the action it was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    #[default]
    Open,
    Closed,
}

/// One entry of `--hooks FILE.json` (a JSON list of these), or one `--hook NAME[:MODE]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// A built-in hook name ("labels", "admission") or a path to a `.wasm` component.
    pub plugin: String,
    /// Passed to the hook's `init`: a JSON string is passed as its text, anything else as JSON.
    #[serde(default)]
    pub config: serde_json::Value,
    #[serde(default)]
    pub failure: FailMode,
    /// The call deadline, default 100 ms.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// The operator lets this hook's environment replace variables the task sets itself
    /// (never PATH or LD_*). Default: such a variable is dropped and the task keeps its own.
    #[serde(default)]
    pub override_task_environment: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HookConfigError {
    #[error("cannot read hooks file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("hooks file {path} is not a JSON list of hooks: {reason}")]
    Parse { path: String, reason: String },
    #[error("--hook '{0}': expected NAME or NAME:open or NAME:closed")]
    Flag(String),
}

impl HookSpec {
    /// `NAME`, `NAME:open` or `NAME:closed` (a path may itself hold ':' only if a mode
    /// follows).
    pub fn parse_flag(text: &str) -> Result<HookSpec, HookConfigError> {
        let (plugin, failure) = match text.rsplit_once(':') {
            Some((plugin, "open")) => (plugin, FailMode::Open),
            Some((plugin, "closed")) => (plugin, FailMode::Closed),
            _ => (text, FailMode::Open),
        };
        if plugin.trim().is_empty() {
            return Err(HookConfigError::Flag(text.to_string()));
        }
        Ok(HookSpec {
            plugin: plugin.to_string(),
            config: serde_json::Value::Null,
            failure,
            deadline_ms: None,
            override_task_environment: false,
        })
    }

    pub fn parse_file(path: &str) -> Result<Vec<HookSpec>, HookConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| HookConfigError::Read {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| HookConfigError::Parse {
            path: path.to_string(),
            reason: e.to_string(),
        })
    }

    fn config_text(&self) -> String {
        match &self.config {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// What the operator sees for one hook (`HookChain::status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookStatus {
    pub plugin: String,
    pub failure: FailMode,
    #[serde(flatten)]
    pub state: QuarantineState,
}

/// One hook of a chain made from a factory (an activated plugin, a test's hook).
pub struct HookEntry {
    pub name: String,
    pub failure: FailMode,
    pub factory: HookFactory,
    /// Its environment may replace the task's own variables (see
    /// [`HookSpec::override_task_environment`]; for an activated plugin, its manifest's
    /// accepted capability).
    pub override_task_environment: bool,
}

struct Link {
    name: String,
    failure: FailMode,
    overrides_own: bool,
    factory: HookFactory,
    instance: Mutex<Option<Box<dyn HookInstance>>>,
    quarantine: Quarantine,
}

/// Cheap to clone; an empty chain (the default) does nothing.
#[derive(Clone, Default)]
pub struct HookChain {
    links: Arc<Vec<Arc<Link>>>,
}

impl std::fmt::Debug for HookChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.links.iter().map(|l| (&l.name, l.failure)).collect();
        f.debug_struct("HookChain").field("hooks", &names).finish()
    }
}

/// A metric's name, type, help and value for one hook.
type MetricSeries = (
    &'static str,
    Kind,
    &'static str,
    fn(&QuarantineState) -> u64,
);

/// The outcome of `on-launch` over the chain.
#[derive(Debug, Clone, PartialEq)]
pub enum LaunchVerdict {
    Allow,
    Deny { hook: String, reason: String },
}

impl HookChain {
    /// Loads every hook now (a bad one is refused at start, naming it).
    /// `quarantine_after`: consecutive failures before a hook is quarantined.
    pub fn load(
        engine: &PluginEngine,
        specs: &[HookSpec],
        quarantine_after: Option<u32>,
    ) -> Result<HookChain, PluginError> {
        let mut links = Vec::new();
        for spec in specs {
            let limits = PluginLimits {
                call_deadline: spec
                    .deadline_ms
                    .map_or(HOOK_LIMITS.call_deadline, Duration::from_millis),
                ..HOOK_LIMITS
            };
            let factory = engine.hook_factory(&spec.plugin, &spec.config_text(), limits)?;
            links.push(Arc::new(Link::new(
                HookEntry {
                    name: spec.plugin.clone(),
                    failure: spec.failure,
                    factory,
                    override_task_environment: spec.override_task_environment,
                },
                quarantine_after,
            )));
        }
        Ok(HookChain {
            links: Arc::new(links),
        })
    }

    /// A chain of already-made factories (activated plugins, tests).
    pub fn from_factories(hooks: Vec<HookEntry>, quarantine_after: Option<u32>) -> HookChain {
        let links = hooks
            .into_iter()
            .map(|entry| Arc::new(Link::new(entry, quarantine_after)))
            .collect();
        HookChain {
            links: Arc::new(links),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// This chain's hooks, then `other`'s; the hooks (instances, quarantine) are shared.
    pub fn joined(&self, other: &HookChain) -> HookChain {
        let links = self
            .links
            .iter()
            .chain(other.links.iter())
            .cloned()
            .collect();
        HookChain {
            links: Arc::new(links),
        }
    }

    /// Per hook: calls, failures and whether (and why) it is quarantined.
    pub fn status(&self) -> Vec<HookStatus> {
        self.links
            .iter()
            .map(|l| HookStatus {
                plugin: l.name.clone(),
                failure: l.failure,
                state: l.quarantine.state(),
            })
            .collect()
    }

    /// Per hook: calls, failures, and `corral_plugin_quarantined{kind="hook",plugin=...}`
    /// (1 while quarantined).
    pub fn write_metrics(&self, text: &mut MetricsText) {
        if self.is_empty() {
            return;
        }
        let status = self.status();
        let series: [MetricSeries; 3] = [
            (
                "corral_hook_calls_total",
                Kind::Counter,
                "Calls into each hook.",
                |s| s.calls,
            ),
            (
                "corral_hook_failures_total",
                Kind::Counter,
                "Failed hook calls.",
                |s| s.failures,
            ),
            (
                "corral_plugin_quarantined",
                Kind::Gauge,
                "1 while a plugin is quarantined after consecutive failures.",
                |s| u64::from(s.quarantined.is_some()),
            ),
        ];
        for (name, kind, help, value) in series {
            text.family(name, kind, help);
            for hook in &status {
                let labels = [("kind", "hook"), ("plugin", hook.plugin.as_str())];
                text.sample(name, &labels, value(&hook.state) as f64);
            }
        }
    }

    /// Master, before a task is accepted. Each hook sees the task as the hooks before it
    /// decorated it; the decorations are applied to `task` (a label or variable with the
    /// same key is replaced). [`apply_to_task`] puts them on the Mesos task.
    pub fn on_launch(&self, task: &mut PluginTask, framework: &FrameworkSnapshot) -> LaunchVerdict {
        // What the framework set itself no hook may change, unless the operator let it.
        let own = variable_names(task.info.command.as_ref());
        for link in self.links.iter() {
            match link.call("on-launch", |h| h.on_launch(task, framework)) {
                Ok(LaunchDecision::Allow(decoration)) => {
                    let labels = &mut task.info.labels.get_or_insert_default().labels;
                    merge_labels(labels, decoration.labels);
                    if let Some(command) = task.info.command.as_mut() {
                        let env = &mut command.environment.get_or_insert_default().variables;
                        merge_env(
                            env,
                            without_overrides(decoration.environment, &own, link.grant()),
                        );
                    }
                }
                Ok(LaunchDecision::Deny(reason)) => {
                    return LaunchVerdict::Deny {
                        hook: link.name.clone(),
                        reason,
                    };
                }
                Err(Some(reason)) => {
                    return LaunchVerdict::Deny {
                        hook: link.name.clone(),
                        reason,
                    };
                }
                Err(None) => {}
            }
        }
        LaunchVerdict::Allow
    }

    /// Agent, before a task's processes start: environment to add, or (a fail-closed hook
    /// failed) the reason the task must not run.
    /// A hook may not set a variable the task sets itself (unless the operator let it), nor
    /// PATH or LD_*.
    pub fn on_run(&self, task: &PluginTask) -> Result<Vec<v1::EnvironmentVariable>, String> {
        let own = variable_names(task.info.command.as_ref());
        let mut env = Vec::new();
        for link in self.links.iter() {
            match link.call("on-run", |h| h.on_run(task)) {
                Ok(added) => merge_env(&mut env, without_overrides(added, &own, link.grant())),
                Err(Some(reason)) => return Err(reason),
                Err(None) => {}
            }
        }
        Ok(env)
    }

    /// Agent, before a status update is sent: labels to add. A status cannot be denied, so a
    /// failure here only loses that hook's labels, whatever its mode.
    pub fn on_status(&self, task: &PluginTask, status: &v1::TaskStatus) -> Vec<v1::Label> {
        let mut labels = Vec::new();
        for link in self.links.iter() {
            if let Ok(added) = link.call("on-status", |h| h.on_status(task, status)) {
                merge_labels(&mut labels, added);
            }
        }
        labels
    }

    /// Master, when an agent registers: what to add to it, or (a fail-closed hook failed)
    /// the reason to refuse the registration.
    pub fn on_agent_register(&self, agent: &AgentSnapshot) -> Result<AgentDecoration, String> {
        let mut total = AgentDecoration::default();
        for link in self.links.iter() {
            match link.call("on-agent-register", |h| h.on_agent_register(agent)) {
                Ok(d) => {
                    total.resources.extend(d.resources);
                    total.attributes.extend(d.attributes);
                }
                Err(Some(reason)) => return Err(reason),
                Err(None) => {}
            }
        }
        Ok(total)
    }
}

impl Link {
    /// Who may set what in a task's environment through this hook.
    fn grant(&self) -> EnvGrant<'_> {
        EnvGrant {
            hook: &self.name,
            overrides_own: self.overrides_own,
        }
    }

    fn new(entry: HookEntry, quarantine_after: Option<u32>) -> Link {
        Link {
            quarantine: Quarantine::new(entry.name.clone(), quarantine_after),
            name: entry.name,
            failure: entry.failure,
            overrides_own: entry.override_task_environment,
            factory: entry.factory,
            instance: Mutex::new(None),
        }
    }

    /// Calls the hook. `Err(None)`: it failed fail-open (logged, go on undecorated);
    /// `Err(Some(reason))`: it failed fail-closed (deny with the reason).
    fn call<R: Send>(
        &self,
        point: &str,
        f: impl FnOnce(&mut dyn HookInstance) -> Result<R, PluginError> + Send,
    ) -> Result<R, Option<String>> {
        let error = match self.quarantine.refused() {
            Some(reason) => reason,
            None => match off_async_threads(|| self.call_instance(f)) {
                Ok(answer) => {
                    self.quarantine.record_success();
                    return Ok(answer);
                }
                Err(e) => {
                    let text = e.to_string();
                    self.quarantine.record_failure(&text);
                    text
                }
            },
        };
        match self.failure {
            FailMode::Open => {
                tracing::warn!(hook = %self.name, point,
                    "hook failed (fail-open, going on without it): {error}");
                Err(None)
            }
            FailMode::Closed => {
                tracing::warn!(hook = %self.name, point, "hook failed (fail-closed, denying): {error}");
                Err(Some(format!(
                    "hook {} failed (fail-closed): {error}",
                    self.name
                )))
            }
        }
    }

    fn call_instance<R>(
        &self,
        f: impl FnOnce(&mut dyn HookInstance) -> Result<R, PluginError> + Send,
    ) -> Result<R, PluginError> {
        let mut slot = self.instance.lock().unwrap_or_else(|p| p.into_inner());
        let instance = match slot.as_mut() {
            Some(instance) => instance,
            None => slot.insert((self.factory)()?),
        };
        let answer = f(instance.as_mut());
        if answer
            .as_ref()
            .err()
            .is_some_and(PluginError::poisons_instance)
        {
            *slot = None;
        }
        answer
    }
}

/// Runs a wasm call where WASI's blocking host calls (a plugin writing to stderr, reading
/// the clock) may block: WASI's sync bindings enter tokio themselves and panic on a runtime
/// worker thread. On a multi-thread runtime the worker becomes a blocking thread for the
/// call; on a current-thread runtime the call runs on a scoped thread.
fn off_async_threads<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(_) => std::thread::scope(|scope| match scope.spawn(f).join() {
            Ok(answer) => answer,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => f(),
    }
}

#[cfg(test)]
#[path = "hook_chain_tests.rs"]
mod tests;
