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

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use super::lock;
use super::shared::AgentShared;
use crate::api::agent_protocol::{
    ActivePlugin, AgentPluginReport, AgentPluginStatus, PLUGINS_PATH,
};
use crate::plugins::PluginEngine;
use crate::plugins::engine::PluginLimits;
use crate::plugins::executor::ExecutorFactory;
use crate::plugins::hook::HOOK_LIMITS;
use crate::plugins::hook_chain::{FailMode, HookChain};
use crate::plugins::isolator::{IsolatorPlugin, IsolatorSet};
use crate::plugins::manifest::Manifest;
use crate::plugins::store::sha256_hex;

/// How often the agent sends its plugin counters to the master.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// Consecutive failures before an activated executor or hook is quarantined.
const QUARANTINE_AFTER: u32 = 5;

type SharedIsolator = Arc<Mutex<Box<dyn IsolatorPlugin>>>;

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

enum LoadedValue {
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
    fn plugin_engine(&self) -> Result<PluginEngine, crate::plugins::PluginError> {
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
            None => fetch_and_load(shared, &plugin).await,
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
        stats: crate::plugins::stats::snapshot_all(),
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

/// A plugin name as a file name: the manifest allows only these characters anyway.
fn file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if safe.is_empty() {
        "plugin".to_string()
    } else {
        safe
    }
}

/// `<work_dir>/plugins/<sha>/<name>.wasm`.
fn cached_path(shared: &AgentShared, plugin: &ActivePlugin) -> Result<PathBuf, String> {
    if plugin.sha256.len() != 64 || !plugin.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("'{}' is not a sha256", plugin.sha256));
    }
    Ok(shared
        .config
        .work_dir
        .join("plugins")
        .join(&plugin.sha256)
        .join(format!("{}.wasm", file_name(&plugin.name))))
}

/// Refuses bytes that do not hash to `sha`.
pub(crate) fn verify_hash(bytes: &[u8], sha: &str) -> Result<(), String> {
    let actual = sha256_hex(bytes);
    if actual == sha {
        Ok(())
    } else {
        Err(format!(
            "hash mismatch: the download hashes to {actual}, not {sha}; refused"
        ))
    }
}

async fn fetch_and_load(
    shared: &Arc<AgentShared>,
    plugin: &ActivePlugin,
) -> Result<LoadedValue, String> {
    let path = cached_path(shared, plugin)?;
    let cached = std::fs::read(&path)
        .ok()
        .filter(|bytes| verify_hash(bytes, &plugin.sha256).is_ok());
    if cached.is_none() {
        let bytes = download(shared, &plugin.sha256).await?;
        verify_hash(&bytes, &plugin.sha256)?;
        store(&path, &bytes, plugin)?;
    }
    let engine = shared.plugin_engine().map_err(|e| e.to_string())?;
    let plugin = plugin.clone();
    let root = shared.config.isolators.discovery_root.clone();
    tokio::task::spawn_blocking(move || load(&engine, &plugin, &path, &root))
        .await
        .map_err(|e| format!("loading the plugin panicked: {e}"))?
}

async fn download(shared: &AgentShared, sha: &str) -> Result<Vec<u8>, String> {
    let url = format!("http://{}/api/corral/v1/plugins/{sha}", shared.master_now());
    let response = shared
        .http
        .get(&url)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| format!("download from the master failed: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("download from the master failed: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "download from the master failed: {status}: {}",
            String::from_utf8_lossy(&body).trim()
        ));
    }
    Ok(body.to_vec())
}

/// Writes the component (through a temporary file, so a half-written one is never taken
/// for the plugin), its manifest and its signature beside it, as the loaders (and
/// `--require-signed`) expect them: a signed plugin gets the manifest exactly as signed.
fn store(path: &std::path::Path, bytes: &[u8], plugin: &ActivePlugin) -> Result<(), String> {
    use crate::plugins::signature::{manifest_path, signature_path};
    let failed = |e: std::io::Error| format!("cannot keep the plugin at {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let manifest = match &plugin.signed {
        Some(signed) => {
            std::fs::write(signature_path(path), &signed.signature).map_err(failed)?;
            signed.manifest.as_deref()
        }
        None => Some(plugin.manifest.as_str()).filter(|m| !m.is_empty()),
    };
    if let Some(manifest) = manifest {
        std::fs::write(manifest_path(path), manifest).map_err(failed)?;
    }
    let partial = path.with_extension("wasm.partial");
    std::fs::write(&partial, bytes).map_err(failed)?;
    std::fs::rename(&partial, path).map_err(failed)
}

/// Compiles and instantiates the plugin as its kind (a first instance is made, so a bad
/// component or config is refused before the switch).
fn load(
    engine: &PluginEngine,
    plugin: &ActivePlugin,
    path: &std::path::Path,
    root: &std::path::Path,
) -> Result<LoadedValue, String> {
    let spec = path.display().to_string();
    let manifest = Manifest::parse(&plugin.manifest).ok();
    let limits = |max: PluginLimits| manifest.as_ref().map_or(max, |m| m.limits(max));
    match plugin.kind.as_str() {
        "executor" => {
            let factory = engine
                .executor_factory(&spec, limits(PluginLimits::EXECUTOR))
                .map_err(|e| e.to_string())?;
            Ok(LoadedValue::Executor(
                crate::plugins::quarantine::guard_executor(factory, Some(QUARANTINE_AFTER)),
            ))
        }
        "hook" => {
            let factory = crate::plugins::wasm_hook::hook_factory(
                engine,
                &spec,
                &plugin.config,
                limits(HOOK_LIMITS),
            )
            .map_err(|e| e.to_string())?;
            Ok(LoadedValue::Hook(HookChain::from_factories(
                vec![(plugin.name.clone(), FailMode::Open, factory)],
                Some(QUARANTINE_AFTER),
            )))
        }
        "isolator" => {
            let isolator = engine
                .isolator(&spec, &plugin.config, root)
                .map_err(|e| e.to_string())?;
            Ok(LoadedValue::Isolator(Arc::new(Mutex::new(isolator))))
        }
        other => Err(format!(
            "kind '{other}' is not run by agents (executor, isolator or hook)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_that_does_not_hash_to_its_sha_is_refused() {
        let bytes = b"component bytes";
        let sha = sha256_hex(bytes);
        assert_eq!(verify_hash(bytes, &sha), Ok(()));
        let error = verify_hash(b"component bytez", &sha).unwrap_err();
        assert!(
            error.contains("hash mismatch") && error.contains(&sha),
            "{error}"
        );
    }

    #[test]
    fn plugin_names_become_plain_file_names() {
        assert_eq!(file_name("labels"), "labels");
        assert_eq!(file_name("../../etc/passwd"), "etcpasswd");
        assert_eq!(file_name("/"), "plugin");
    }

    #[test]
    fn an_err_answer_counts_as_an_error_in_the_plugin_stats() {
        let engine = PluginEngine::new().expect("engine");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stats-err-labels.wasm");
        let bytes = crate::plugins::builtin::builtin("labels").expect("built-in labels");
        std::fs::write(&path, bytes).expect("write");
        let spec = path.display().to_string();
        // `init` answers Err for a config that is not JSON: one call, one error.
        let refused =
            crate::plugins::wasm_hook::hook_factory(&engine, &spec, "{not json", HOOK_LIMITS);
        assert!(refused.is_err());
        let stats = crate::plugins::stats::snapshot_all()["stats-err-labels"];
        assert_eq!((stats.calls, stats.errors), (1, 1), "{stats:?}");
    }
}
