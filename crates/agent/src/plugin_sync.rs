//! Plugins activated cluster-wide (issue 6): the master sends the active set
//! (`AgentCommand::Plugins`); the agent fetches what it lacks by sha256 into
//! `<work_dir>/plugins/<sha>/<name>.wasm` (manifest beside it), verifies the hash, loads it
//! through the usual loaders (kind, WIT version, manifest, signature under `--require-signed`)
//! and only then switches (see `active_plugins.rs` for what a switch changes). A plugin that
//! fails any step is refused and the version it replaces stays. The agent reports what it
//! runs, and its plugin counters, to the master.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::active_plugins::{ActiveSet, PluginSync};
use super::identity::AgentIdentity;
use super::master_link::MasterLink;
use super::plugin_fetch::{self, FetchPlace};
use super::shutdown::Shutdown;
use corral_api::agent_protocol::{AgentPluginReport, AgentPluginStatus, PLUGINS_PATH};

/// How often the agent sends its plugin counters to the master.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// What the sync loop works with.
pub struct PluginSyncContext {
    pub sync: Arc<PluginSync>,
    pub link: Arc<MasterLink>,
    pub identity: Arc<AgentIdentity>,
    pub work_dir: PathBuf,
    /// Where isolator plugins discover devices.
    pub discovery_root: PathBuf,
    pub shutdown: Shutdown,
}

/// Loads each active set the master sends, and reports to the master after each change and
/// every [`REPORT_INTERVAL`].
pub async fn run(ctx: PluginSyncContext) {
    let mut shutdown = ctx.shutdown.clone();
    loop {
        tokio::select! {
            _ = ctx.sync.changed() => sync(&ctx).await,
            _ = tokio::time::sleep(REPORT_INTERVAL) => {}
            _ = shutdown.stopped() => return,
        }
        report(&ctx).await;
    }
}

async fn sync(ctx: &PluginSyncContext) {
    let Some(wanted) = ctx.sync.wanted() else {
        return;
    };
    let current = ctx.sync.current();
    let mut next = ActiveSet::default();
    let mut statuses = Vec::new();
    for plugin in wanted {
        let loaded = match current.reusable(&plugin) {
            Some(value) => Ok(value),
            None => {
                let place = FetchPlace {
                    link: &ctx.link,
                    work_dir: &ctx.work_dir,
                    discovery_root: &ctx.discovery_root,
                };
                plugin_fetch::fetch_and_load(place, &ctx.sync, &plugin).await
            }
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
    let keep: Vec<String> = next.shas().into_iter().map(String::from).collect();
    let cache = plugin_fetch::cache_dir(&ctx.work_dir);
    if let Err(e) = tokio::task::spawn_blocking(move || prune_cache(&cache, &keep)).await {
        tracing::warn!("pruning the plugin cache panicked: {e}");
    }
    ctx.sync.switch(next, statuses);
}

async fn report(ctx: &PluginSyncContext) {
    let Some(agent_id) = ctx.identity.id() else {
        return;
    };
    if !ctx.link.is_registered() {
        return;
    }
    let report = AgentPluginReport {
        agent_id,
        plugins: ctx.sync.statuses(),
        stats: corral_plugin_host::stats::snapshot_all(),
    };
    let url = ctx.link.url_now(PLUGINS_PATH);
    let sent = ctx
        .link
        .http()
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
fn prune_cache(cache: &std::path::Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !keep.iter().any(|sha| name.to_str() == Some(sha.as_str()))
            && let Err(error) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(%error, path = %entry.path().display(), "cannot remove a cached plugin");
        }
    }
}
