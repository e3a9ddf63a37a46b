//! Fetching, verifying, keeping and loading one plugin of the active set (see
//! `plugin_sync.rs`): `<work_dir>/plugins/<sha>/<name>.wasm`, with its manifest and signature
//! beside it, loaded through the usual loaders before the agent switches to it. The files,
//! the hashing and the compiling run off the async threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::active_plugins::{LoadedValue, PluginSync};
use super::master_link::MasterLink;
use corral_api::agent_protocol::ActivePlugin;
use corral_plugin_host::PluginEngine;
use corral_plugin_host::engine::PluginLimits;
use corral_plugin_host::hook::HOOK_LIMITS;
use corral_plugin_host::hook_chain::{FailMode, HookChain, HookEntry};
use corral_plugin_host::manifest::Manifest;
use corral_plugin_host::store::sha256_hex;

/// Consecutive failures before an activated executor or hook is quarantined.
const QUARANTINE_AFTER: u32 = 5;

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

/// Where fetched plugins are kept: `<work_dir>/plugins`.
pub fn cache_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("plugins")
}

/// `<work_dir>/plugins/<sha>/<name>.wasm`.
fn cached_path(work_dir: &Path, plugin: &ActivePlugin) -> Result<PathBuf, String> {
    if plugin.sha256.len() != 64 || !plugin.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("'{}' is not a sha256", plugin.sha256));
    }
    Ok(cache_dir(work_dir)
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

/// Where a plugin comes from and where it is kept.
pub struct FetchPlace<'a> {
    pub link: &'a MasterLink,
    pub work_dir: &'a Path,
    /// Where isolator plugins discover devices.
    pub discovery_root: &'a Path,
}

pub async fn fetch_and_load(
    place: FetchPlace<'_>,
    sync: &Arc<PluginSync>,
    plugin: &ActivePlugin,
) -> Result<LoadedValue, String> {
    let path = cached_path(place.work_dir, plugin)?;
    let (cached_at, sha) = (path.clone(), plugin.sha256.clone());
    let cached = tokio::task::spawn_blocking(move || {
        std::fs::read(&cached_at)
            .ok()
            .is_some_and(|bytes| verify_hash(&bytes, &sha).is_ok())
    })
    .await
    .unwrap_or(false);
    if !cached {
        let bytes = download(place.link, &plugin.sha256).await?;
        let (kept_at, wanted) = (path.clone(), plugin.clone());
        tokio::task::spawn_blocking(move || {
            verify_hash(&bytes, &wanted.sha256)?;
            store(&kept_at, &bytes, &wanted)
        })
        .await
        .map_err(|e| format!("keeping the plugin panicked: {e}"))??;
    }
    let (sync, plugin) = (sync.clone(), plugin.clone());
    let root = place.discovery_root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let engine = sync.engine().map_err(|e| e.to_string())?;
        load(&engine, &plugin, &path, &root)
    })
    .await
    .map_err(|e| format!("loading the plugin panicked: {e}"))?
}

async fn download(link: &MasterLink, sha: &str) -> Result<Vec<u8>, String> {
    let url = link.url_now(&format!("/api/corral/v1/plugins/{sha}"));
    let response = link
        .http()
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
    use corral_plugin_host::signature::{manifest_path, signature_path};
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
                corral_plugin_host::quarantine::guard_executor(factory, Some(QUARANTINE_AFTER)),
            ))
        }
        "hook" => {
            let factory = engine
                .hook_factory(&spec, &plugin.config, limits(HOOK_LIMITS))
                .map_err(|e| e.to_string())?;
            // The master stored it only if the installer accepted the capability.
            let overrides = manifest
                .as_ref()
                .is_some_and(|m| m.capabilities.override_task_environment);
            let entry = HookEntry {
                name: plugin.name.clone(),
                failure: FailMode::Open,
                factory,
                override_task_environment: overrides,
            };
            Ok(LoadedValue::Hook(HookChain::from_factories(
                vec![entry],
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
        let bytes = corral_builtin_plugins::builtin("labels").expect("built-in labels");
        std::fs::write(&path, bytes).expect("write");
        let spec = path.display().to_string();
        // `init` answers Err for a config that is not JSON: one call, one error.
        let refused = engine.hook_factory(&spec, "{not json", HOOK_LIMITS);
        assert!(refused.is_err());
        let stats = corral_plugin_host::stats::snapshot_all()["stats-err-labels"];
        assert_eq!((stats.calls, stats.errors), (1, 1), "{stats:?}");
    }
}
