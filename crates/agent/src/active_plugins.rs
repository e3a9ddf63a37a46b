//! The plugins activated cluster-wide (issue 6) as the agent holds them: what the master
//! wants, what is loaded, and what a task launched now uses. See `plugin_sync.rs` for the
//! loop that loads what the master sends.
//!
//! Hot reload: launches take a [`LaunchPlugins`] snapshot, so a running task keeps the
//! executor, isolators and hooks it started with; new tasks get the current set. Command-line
//! isolators and hooks come first and are fixed; activated ones follow in activation order;
//! an activated executor replaces `--executor`.

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::Notify;

use super::locks::lock;
use corral_api::agent_protocol::{ActivePlugin, AgentPluginStatus};
use corral_plugin_host::PluginEngine;
use corral_plugin_host::executor::ExecutorFactory;
use corral_plugin_host::hook_chain::HookChain;
use corral_plugin_host::isolator::{IsolatorPlugin, IsolatorSet};

pub type SharedIsolator = Arc<Mutex<Box<dyn IsolatorPlugin>>>;

/// One loaded plugin of the active set.
#[derive(Clone)]
pub struct Loaded<T> {
    pub plugin: ActivePlugin,
    pub value: T,
}

/// A plugin loaded as its kind.
pub enum LoadedValue {
    Executor(ExecutorFactory),
    Hook(HookChain),
    Isolator(SharedIsolator),
}

/// What the agent runs of the active set now.
#[derive(Clone, Default)]
pub struct ActiveSet {
    pub executor: Option<Loaded<ExecutorFactory>>,
    pub hooks: Vec<Loaded<HookChain>>,
    pub isolators: Vec<Loaded<SharedIsolator>>,
}

impl ActiveSet {
    /// The loaded plugin with this sha256 and config, to reuse as is.
    pub fn reusable(&self, plugin: &ActivePlugin) -> Option<LoadedValue> {
        let same = |p: &ActivePlugin| p.sha256 == plugin.sha256 && p.config == plugin.config;
        if let Some(e) = self.executor.as_ref().filter(|e| same(&e.plugin)) {
            return Some(LoadedValue::Executor(e.value.clone()));
        }
        if let Some(h) = self.hooks.iter().find(|h| same(&h.plugin)) {
            return Some(LoadedValue::Hook(h.value.clone()));
        }
        self.isolators
            .iter()
            .find(|i| same(&i.plugin))
            .map(|i| LoadedValue::Isolator(i.value.clone()))
    }

    /// The loaded plugin of the same name and kind (another version), kept when its
    /// replacement is refused.
    pub fn previous(&self, plugin: &ActivePlugin) -> Option<(ActivePlugin, LoadedValue)> {
        let same = |p: &ActivePlugin| p.name == plugin.name && p.kind == plugin.kind;
        if let Some(e) = self.executor.as_ref().filter(|e| same(&e.plugin)) {
            return Some((e.plugin.clone(), LoadedValue::Executor(e.value.clone())));
        }
        if let Some(h) = self.hooks.iter().find(|h| same(&h.plugin)) {
            return Some((h.plugin.clone(), LoadedValue::Hook(h.value.clone())));
        }
        self.isolators
            .iter()
            .find(|i| same(&i.plugin))
            .map(|i| (i.plugin.clone(), LoadedValue::Isolator(i.value.clone())))
    }

    pub fn add(&mut self, plugin: ActivePlugin, value: LoadedValue) {
        match value {
            LoadedValue::Executor(value) => self.executor = Some(Loaded { plugin, value }),
            LoadedValue::Hook(value) => {
                self.hooks.retain(|h| h.plugin.name != plugin.name);
                self.hooks.push(Loaded { plugin, value });
            }
            LoadedValue::Isolator(value) => {
                self.isolators.retain(|i| i.plugin.name != plugin.name);
                self.isolators.push(Loaded { plugin, value });
            }
        }
    }

    /// The sha256 of every plugin in the set.
    pub fn shas(&self) -> Vec<&str> {
        let mut shas: Vec<&str> = self
            .hooks
            .iter()
            .map(|h| h.plugin.sha256.as_str())
            .collect();
        shas.extend(self.isolators.iter().map(|i| i.plugin.sha256.as_str()));
        shas.extend(self.executor.iter().map(|e| e.plugin.sha256.as_str()));
        shas
    }
}

/// What the command line gives every launch: the executor, hooks and isolators.
#[derive(Clone)]
pub struct BasePlugins {
    pub executor: ExecutorFactory,
    /// `--executor`, for messages.
    pub executor_name: String,
    pub hooks: HookChain,
    pub isolators: IsolatorSet,
}

/// The plugins one task launch uses, fixed for the task's life.
#[derive(Clone)]
pub struct LaunchPlugins {
    pub executor: ExecutorFactory,
    /// The executor's name, for messages.
    pub executor_name: String,
    pub hooks: HookChain,
    pub isolators: IsolatorSet,
}

/// The agent's view of the active set: what the master wants and what is loaded.
pub struct PluginSync {
    base: BasePlugins,
    current: RwLock<Arc<ActiveSet>>,
    wanted: Mutex<Option<Vec<ActivePlugin>>>,
    changed: Notify,
    statuses: Mutex<Vec<AgentPluginStatus>>,
    /// The engine the command line gives, if any.
    engine: Option<PluginEngine>,
    /// The engine when the command line gives none (made on first use).
    fallback_engine: OnceLock<PluginEngine>,
}

impl PluginSync {
    pub fn new(base: BasePlugins, engine: Option<PluginEngine>) -> PluginSync {
        PluginSync {
            base,
            current: RwLock::default(),
            wanted: Mutex::new(None),
            changed: Notify::new(),
            statuses: Mutex::new(Vec::new()),
            engine,
            fallback_engine: OnceLock::new(),
        }
    }

    /// The master's active set; the sync loop loads it.
    pub fn want(&self, active: Vec<ActivePlugin>) {
        *lock(&self.wanted) = Some(active);
        self.changed.notify_one();
    }

    /// What the master wants now, once it has said.
    pub fn wanted(&self) -> Option<Vec<ActivePlugin>> {
        lock(&self.wanted).clone()
    }

    /// Resolves when the master has sent a new active set.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    pub fn current(&self) -> Arc<ActiveSet> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Switches to `set`, with each plugin's status for the master.
    pub fn switch(&self, set: ActiveSet, statuses: Vec<AgentPluginStatus>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
        *lock(&self.statuses) = statuses;
    }

    pub fn statuses(&self) -> Vec<AgentPluginStatus> {
        lock(&self.statuses).clone()
    }

    /// The engine that loads activated plugins. Making one compiles nothing but is not
    /// cheap: call it off the async threads.
    pub fn engine(&self) -> Result<PluginEngine, corral_plugin_host::PluginError> {
        if let Some(engine) = &self.engine {
            return Ok(engine.clone());
        }
        if let Some(engine) = self.fallback_engine.get() {
            return Ok(engine.clone());
        }
        let engine = PluginEngine::new()?;
        Ok(self.fallback_engine.get_or_init(|| engine).clone())
    }

    /// The plugins a task launched now uses: the command line's, then the activated ones.
    pub fn launch_plugins(&self) -> LaunchPlugins {
        let set = self.current();
        let (executor, executor_name) = match &set.executor {
            Some(e) => (e.value.clone(), e.plugin.name.clone()),
            None => (self.base.executor.clone(), self.base.executor_name.clone()),
        };
        let mut hooks = self.base.hooks.clone();
        for hook in &set.hooks {
            hooks = hooks.joined(&hook.value);
        }
        let mut isolators = self.base.isolators.clone();
        isolators
            .plugins
            .extend(set.isolators.iter().map(|i| i.value.clone()));
        LaunchPlugins {
            executor,
            executor_name,
            hooks,
            isolators,
        }
    }
}
