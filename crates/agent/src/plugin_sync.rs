//! Plugins activated cluster-wide (issue 6): the master sends the active set
//! (`AgentCommand::Plugins`); the agent fetches what it lacks by sha256 into
//! `<work_dir>/plugins/<sha>/<name>.wasm` (manifest beside it), verifies the hash, loads it
//! through the usual loaders (kind, WIT version, manifest, signature under `--require-signed`)
//! and only then switches. A plugin that fails any step is refused and the version it
//! replaces stays. The agent reports what it runs, and its plugin counters, to the master.
//!
//! Hot reload: launches take a [`LaunchPlugins`] snapshot, so a running task keeps the
//! executor, isolators and hooks it started with; new tasks get the current set. Command-line
//! isolators and hooks come first and are fixed; activated ones follow in activation order;
//! an activated executor replaces `--executor`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use super::lock;
use super::shared::AgentShared;
use corral_api::agent_protocol::{
    ActivePlugin, AgentPluginReport, AgentPluginStatus, PLUGINS_PATH,
};
use corral_plugin_host::PluginEngine;
use corral_plugin_host::executor::ExecutorFactory;
use corral_plugin_host::hook_chain::HookChain;
use corral_plugin_host::isolator::{IsolatorPlugin, IsolatorSet};

/// How often the agent sends its plugin counters to the master.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);

pub(super) type SharedIsolator = Arc<Mutex<Box<dyn IsolatorPlugin>>>;

/// One loaded plugin of the active set.
#[derive(Clone)]
struct Loaded<T> {
    plugin: ActivePlugin,
    value: T,
}

/// What the agent runs of the active set now.
#[derive(Clone, Default)]
struct ActiveSet {
    executor: Option<Loaded<ExecutorFactory>>,
    hooks: Vec<Loaded<HookChain>>,
    isolators: Vec<Loaded<SharedIsolator>>,
}

impl ActiveSet {
    /// The loaded plugin with this sha256 and config, to reuse as is.
    fn reusable(&self, plugin: &ActivePlugin) -> Option<LoadedValue> {
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
    fn previous(&self, plugin: &ActivePlugin) -> Option<(ActivePlugin, LoadedValue)> {
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

    fn add(&mut self, plugin: ActivePlugin, value: LoadedValue) {
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
}

pub(super) enum LoadedValue {
    Executor(ExecutorFactory),
    Hook(HookChain),
    Isolator(SharedIsolator),
}

/// The agent's view of the active set: what the master wants and what is loaded.
#[derive(Default)]
pub struct PluginSync {
    current: RwLock<Arc<ActiveSet>>,
    wanted: Mutex<Option<Vec<ActivePlugin>>>,
    changed: Notify,
    statuses: Mutex<Vec<AgentPluginStatus>>,
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

impl PluginSync {
    /// The master's active set; the sync loop loads it.
    pub fn want(&self, active: Vec<ActivePlugin>) {
        *lock(&self.wanted) = Some(active);
        self.changed.notify_one();
    }

    fn current(&self) -> Arc<ActiveSet> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn switch(&self, set: ActiveSet) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
    }
}

impl AgentShared {
    /// The engine that loads activated plugins.
    pub(super) fn plugin_engine(&self) -> Result<PluginEngine, corral_plugin_host::PluginError> {
        if let Some(engine) = &self.config.plugin_engine {
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
        let set = self.plugin_sync.current();
        let (executor, executor_name) = match &set.executor {
            Some(e) => (e.value.clone(), e.plugin.name.clone()),
            None => (self.executor.clone(), self.config.executor.clone()),
        };
        let mut hooks = self.config.hooks.clone();
        for hook in &set.hooks {
            hooks = hooks.joined(&hook.value);
        }
        let mut isolators = self.config.isolators.clone();
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

/// Loads each active set the master sends, and reports to the master after each change and
/// every [`REPORT_INTERVAL`].
pub async fn run(shared: Arc<AgentShared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = shared.plugin_sync.changed.notified() => sync(&shared).await,
            _ = tokio::time::sleep(REPORT_INTERVAL) => {}
            _ = super::stopped(&mut shutdown) => return,
        }
        report(&shared).await;
    }
}

async fn sync(shared: &Arc<AgentShared>) {
    let Some(wanted) = lock(&shared.plugin_sync.wanted).clone() else {
        return;
    };
    let current = shared.plugin_sync.current();
    let mut next = ActiveSet::default();
    let mut statuses = Vec::new();
    for plugin in wanted {
        let loaded = match current.reusable(&plugin) {
            Some(value) => Ok(value),
            None => super::plugin_fetch::fetch_and_load(shared, &plugin).await,
        };
        let status = |loaded: bool, error: Option<String>| AgentPluginStatus {
            sha256: plugin.sha256.clone(),
            name: plugin.name.clone(),
            loaded,
            error,
        };
        match loaded {
            Ok(value) => {
                statuses.push(status(true, None));
                next.add(plugin, value);
            }
            Err(reason) => {
                tracing::error!(plugin = %plugin.name, sha256 = %plugin.sha256, %reason, "plugin refused");
                statuses.push(status(false, Some(reason)));
                // The version it replaces stays.
                if let Some((old, value)) = current.previous(&plugin) {
                    next.add(old, value);
                }
            }
        }
    }
    let names: Vec<&str> = statuses
        .iter()
        .filter(|s| s.loaded)
        .map(|s| s.name.as_str())
        .collect();
    tracing::info!(active = ?names, "plugin set switched");
    prune_cache(shared, &next);
    shared.plugin_sync.switch(next);
    *lock(&shared.plugin_sync.statuses) = statuses;
}

async fn report(shared: &Arc<AgentShared>) {
    let Some(agent_id) = shared.agent_id() else {
        return;
    };
    if !shared.registered.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let report = AgentPluginReport {
        agent_id,
        plugins: lock(&shared.plugin_sync.statuses).clone(),
        stats: corral_plugin_host::stats::snapshot_all(),
    };
    let url = format!("http://{}{PLUGINS_PATH}", shared.master_now());
    let sent = shared
        .http
        .post(url)
        .timeout(Duration::from_secs(5))
        .json(&report)
        .send()
        .await;
    if let Err(error) = sent {
        tracing::debug!(%error, "cannot send the plugin report");
    }
}

/// Removes cached plugins the set no longer uses (running tasks hold them compiled).
fn prune_cache(shared: &AgentShared, set: &ActiveSet) {
    let mut keep: Vec<&str> = set.hooks.iter().map(|h| h.plugin.sha256.as_str()).collect();
    keep.extend(set.isolators.iter().map(|i| i.plugin.sha256.as_str()));
    keep.extend(set.executor.iter().map(|e| e.plugin.sha256.as_str()));
    let Ok(entries) = std::fs::read_dir(shared.config.work_dir.join("plugins")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !keep.iter().any(|sha| name.to_str() == Some(sha))
            && let Err(error) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(%error, path = %entry.path().display(), "cannot remove a cached plugin");
        }
    }
}
