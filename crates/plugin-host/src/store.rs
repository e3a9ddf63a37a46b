//! Installed plugins, kept in the master's [`StateStore`] by sha256: metadata (JSON) under
//! `plugins/<sha>` and the component's bytes in chunks of at most [`CHUNK_BYTES`] under
//! `plugin-chunks/<sha>/<n>` (etcd refuses requests over 1.5 MiB; a separate prefix, so
//! listing the plugins reads no bytes), the chunks in batches of
//! 1 MiB and the meta last (it is what makes the plugin exist). Bytes read back are checked
//! against the hash, so a damaged store is noticed, not run.
//!
//! The active allocator (a built-in name or a sha256, and its config) is kept under
//! [`ACTIVE_ALLOCATOR_KEY`], so a restarted master comes back with it; the active authorizer
//! likewise (`active_authorizer.rs`).

mod active_authorizer;

pub use active_authorizer::{ACTIVE_AUTHORIZER_KEY, ActiveAuthorizer};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::engine::PluginEngine;
use super::error::PluginError;
use super::manifest::{Manifest, ManifestError};
use super::plugin_kind::PluginKind;
use corral_builtin_plugins::builtin;
use corral_state::{StateError, StateStore, WriteOp};

pub const PLUGINS_PREFIX: &str = "plugins/";
pub const CHUNKS_PREFIX: &str = "plugin-chunks/";
pub const ACTIVE_ALLOCATOR_KEY: &str = "allocator/active";
/// Largest value written per chunk: well under etcd's 1.5 MiB request limit.
pub const CHUNK_BYTES: usize = 512 * 1024;
/// Chunks written per store batch: 1 MiB, under etcd's 1.5 MiB per transaction.
const CHUNKS_PER_BATCH: usize = 2;
/// A component larger than this is refused.
pub const MAX_PLUGIN_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PluginStoreError {
    #[error("the plugin has no manifest: give one (--manifest) or embed it as a custom section")]
    NoManifest,
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("the manifest says kind {manifest}, but the component is refused as one: {reason}")]
    KindMismatch { manifest: String, reason: String },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(
        "the plugin asks for capabilities that were not accepted ({0}); accept them \
         (accept_capabilities / --accept-capabilities) to install it"
    )]
    CapabilitiesNotAccepted(String),
    #[error("the plugin is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    #[error("no installed plugin matches '{0}'")]
    NotFound(String),
    #[error("'{0}' matches more than one installed plugin; give more of the sha256")]
    Ambiguous(String),
    #[error("plugin {0} is active; deactivate it (or swap the allocator) before removing it")]
    Active(String),
    #[error("stored plugin {sha256} is damaged: {reason}")]
    Damaged { sha256: String, reason: String },
    #[error(transparent)]
    State(#[from] StateError),
}

/// What is stored about one installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginMeta {
    pub sha256: String,
    pub name: String,
    pub kind: String,
    pub version: String,
    /// The manifest as TOML.
    pub manifest: String,
    pub size: u64,
    pub chunks: u32,
    pub installed_at_ms: u64,
    /// Activated for agents (executors, isolators, hooks). The active allocator is kept
    /// apart, under [`ACTIVE_ALLOCATOR_KEY`].
    #[serde(default)]
    pub active: bool,
    /// The config its `init` gets on agents (given at activation).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config: String,
    /// When it was last activated: agents combine active plugins in this order.
    #[serde(default)]
    pub activated_at_ms: u64,
    /// The publisher's signature (`FILE.wasm.sig`) and the manifest exactly as signed, so
    /// that agents under `--require-signed` can check it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signed>,
}

/// A signature given at install, with the manifest text it covers (none: embedded).
pub use corral_api::agent_protocol::Signed;

/// The allocator the master runs: a built-in name or an installed plugin's sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveAllocator {
    pub plugin: String,
    #[serde(default)]
    pub config: String,
}

/// A plugin's bytes resolved for loading, with the manifest it was installed with.
pub struct ResolvedPlugin {
    pub name: String,
    /// The built-in name or the sha256: what [`ActiveAllocator::plugin`] records.
    pub id: String,
    pub bytes: Vec<u8>,
    pub manifest: Option<Manifest>,
}

#[derive(Clone)]
pub struct PluginStore {
    store: Arc<dyn StateStore>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    super::loader::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn meta_key(sha: &str) -> String {
    format!("{PLUGINS_PREFIX}{sha}")
}

fn chunk_key(sha: &str, n: u32) -> String {
    format!("{CHUNKS_PREFIX}{sha}/{n}")
}

fn corrupt(key: &str, reason: impl ToString) -> StateError {
    StateError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

impl PluginStore {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        PluginStore { store }
    }

    /// Checks and stores a plugin. The manifest is `manifest_toml` if given, else the wasm's
    /// custom section; its kind must be what the component is, and any capability it asks for
    /// must be accepted. Nothing is stored when a check fails. Installing the same bytes again
    /// answers the stored plugin.
    pub async fn install(
        &self,
        engine: &PluginEngine,
        wasm: &[u8],
        manifest_toml: Option<&str>,
        accept_capabilities: bool,
        now_ms: u64,
    ) -> Result<PluginMeta, PluginStoreError> {
        if wasm.len() > MAX_PLUGIN_BYTES {
            return Err(PluginStoreError::TooLarge {
                size: wasm.len(),
                max: MAX_PLUGIN_BYTES,
            });
        }
        let manifest = match manifest_toml {
            Some(text) => Manifest::parse(text)?,
            None => Manifest::from_custom_section(wasm)?.ok_or(PluginStoreError::NoManifest)?,
        };
        let asked = capability_summary(&manifest);
        if !asked.is_empty() && !accept_capabilities {
            return Err(PluginStoreError::CapabilitiesNotAccepted(asked.join("; ")));
        }
        let kind: PluginKind = manifest.kind.into();
        let engine = engine.clone();
        let name = manifest.name.clone();
        let bytes = wasm.to_vec();
        // Compiling may take a while: off the async threads.
        let checked = tokio::task::spawn_blocking(move || {
            engine.check_component(&name, &bytes, kind).map(|()| bytes)
        })
        .await
        .map_err(|e| PluginError::Instantiate {
            plugin: manifest.name.clone(),
            reason: e.to_string(),
        })?;
        let bytes = checked.map_err(|error| match error {
            PluginError::WrongKind { .. } => PluginStoreError::KindMismatch {
                manifest: kind.to_string(),
                reason: error.to_string(),
            },
            other => PluginStoreError::Plugin(other),
        })?;
        let sha = sha256_hex(&bytes);
        if let Some(existing) = self.meta(&sha).await? {
            return Ok(existing);
        }
        let chunks: Vec<&[u8]> = bytes.chunks(CHUNK_BYTES).collect();
        let meta = PluginMeta {
            sha256: sha.clone(),
            name: manifest.name.clone(),
            kind: kind.to_string(),
            version: manifest.version.clone(),
            manifest: manifest.to_toml(),
            size: bytes.len() as u64,
            chunks: chunks.len() as u32,
            installed_at_ms: now_ms,
            active: false,
            config: String::new(),
            activated_at_ms: 0,
            signature: None,
        };
        // Chunks first, a few per batch (one etcd transaction must stay under 1.5 MiB), then
        // the meta, which is what makes the plugin exist: an install cut short leaves only
        // chunks nobody lists, overwritten by the next install of the same bytes.
        for (group, batch) in chunks.chunks(CHUNKS_PER_BATCH).enumerate() {
            let ops = batch
                .iter()
                .enumerate()
                .map(|(i, chunk)| WriteOp::Put {
                    key: chunk_key(&sha, (group * CHUNKS_PER_BATCH + i) as u32),
                    value: chunk.to_vec(),
                })
                .collect();
            self.store.apply(ops).await?;
        }
        self.store.apply(vec![put_meta(&meta)]).await?;
        Ok(meta)
    }

    /// Every installed plugin, by sha256.
    pub async fn list(&self) -> Result<Vec<PluginMeta>, PluginStoreError> {
        let entries = self.store.list(PLUGINS_PREFIX).await?;
        let mut metas = Vec::new();
        for (key, value) in entries {
            let meta: PluginMeta = serde_json::from_slice(&value).map_err(|e| corrupt(&key, e))?;
            metas.push(meta);
        }
        Ok(metas)
    }

    pub async fn meta(&self, sha: &str) -> Result<Option<PluginMeta>, PluginStoreError> {
        let key = meta_key(sha);
        match self.store.get(&key).await? {
            Some(value) => Ok(Some(
                serde_json::from_slice(&value).map_err(|e| corrupt(&key, e))?,
            )),
            None => Ok(None),
        }
    }

    /// The one plugin `what` names: a full sha256, a prefix of one (8 hex digits at least),
    /// or a name (the latest installed of that name).
    pub async fn find(&self, what: &str) -> Result<PluginMeta, PluginStoreError> {
        let all = self.list().await?;
        if let Some(meta) = all.iter().find(|m| m.sha256 == what) {
            return Ok(meta.clone());
        }
        let by_prefix: Vec<&PluginMeta> = if what.len() >= 8 {
            all.iter().filter(|m| m.sha256.starts_with(what)).collect()
        } else {
            Vec::new()
        };
        match by_prefix.as_slice() {
            [one] => return Ok((*one).clone()),
            [] => {}
            _ => return Err(PluginStoreError::Ambiguous(what.to_string())),
        }
        all.into_iter()
            .filter(|m| m.name == what)
            .max_by_key(|m| m.installed_at_ms)
            .ok_or_else(|| PluginStoreError::NotFound(what.to_string()))
    }

    /// An installed plugin's bytes, checked against its sha256.
    pub async fn bytes(&self, meta: &PluginMeta) -> Result<Vec<u8>, PluginStoreError> {
        let damaged = |reason: String| PluginStoreError::Damaged {
            sha256: meta.sha256.clone(),
            reason,
        };
        let mut bytes = Vec::with_capacity(meta.size as usize);
        for n in 0..meta.chunks {
            let chunk = self
                .store
                .get(&chunk_key(&meta.sha256, n))
                .await?
                .ok_or_else(|| damaged(format!("chunk {n} is missing")))?;
            bytes.extend_from_slice(&chunk);
        }
        let actual = sha256_hex(&bytes);
        if actual != meta.sha256 {
            return Err(damaged(format!("its bytes hash to {actual}")));
        }
        Ok(bytes)
    }

    /// A built-in allocator by name, or an installed plugin by sha256, prefix or name.
    pub async fn resolve(&self, what: &str) -> Result<ResolvedPlugin, PluginStoreError> {
        if let Some(bytes) = builtin(what) {
            return Ok(ResolvedPlugin {
                name: what.to_string(),
                id: what.to_string(),
                bytes: bytes.to_vec(),
                manifest: None,
            });
        }
        let meta = self.find(what).await?;
        let bytes = self.bytes(&meta).await?;
        let manifest = Manifest::parse(&meta.manifest).ok();
        Ok(ResolvedPlugin {
            name: meta.name,
            id: meta.sha256,
            bytes,
            manifest,
        })
    }

    pub async fn set_active(
        &self,
        what: &str,
        active: bool,
    ) -> Result<PluginMeta, PluginStoreError> {
        let mut meta = self.find(what).await?;
        meta.active = active;
        self.store.apply(vec![put_meta(&meta)]).await?;
        Ok(meta)
    }

    /// Activates a plugin for agents with `config`; activating it again moves it last in
    /// the activation order and replaces its config.
    pub async fn activate(
        &self,
        what: &str,
        config: &str,
        now_ms: u64,
    ) -> Result<PluginMeta, PluginStoreError> {
        let mut meta = self.find(what).await?;
        meta.active = true;
        meta.config = config.to_string();
        meta.activated_at_ms = now_ms;
        self.store.apply(vec![put_meta(&meta)]).await?;
        Ok(meta)
    }

    /// Records the signature a plugin was installed with.
    pub async fn set_signature(
        &self,
        mut meta: PluginMeta,
        signed: Signed,
    ) -> Result<PluginMeta, PluginStoreError> {
        meta.signature = Some(signed);
        self.store.apply(vec![put_meta(&meta)]).await?;
        Ok(meta)
    }

    /// The plugins activated for agents, in activation order.
    pub async fn active_for_agents(&self) -> Result<Vec<PluginMeta>, PluginStoreError> {
        let mut active: Vec<PluginMeta> = self
            .list()
            .await?
            .into_iter()
            .filter(|m| m.active && m.kind != "allocator" && m.kind != "authorizer")
            .collect();
        active.sort_by(|a, b| (a.activated_at_ms, &a.sha256).cmp(&(b.activated_at_ms, &b.sha256)));
        Ok(active)
    }

    /// Removes an installed plugin; refused while it is active (for agents, as the allocator
    /// or as the authorizer).
    pub async fn remove(&self, what: &str) -> Result<PluginMeta, PluginStoreError> {
        let meta = self.find(what).await?;
        let is_allocator = self
            .active_allocator()
            .await?
            .is_some_and(|a| a.plugin == meta.sha256);
        let is_authorizer = self
            .active_authorizer()
            .await?
            .is_some_and(|a| a.plugin == meta.sha256);
        if meta.active || is_allocator || is_authorizer {
            return Err(PluginStoreError::Active(meta.sha256));
        }
        // The meta first: from then on the plugin is gone, whatever happens to the chunks.
        self.store
            .apply(vec![WriteOp::Delete {
                key: meta_key(&meta.sha256),
            }])
            .await?;
        let keys: Vec<u32> = (0..meta.chunks).collect();
        for batch in keys.chunks(64) {
            let ops = batch
                .iter()
                .map(|&n| WriteOp::Delete {
                    key: chunk_key(&meta.sha256, n),
                })
                .collect();
            self.store.apply(ops).await?;
        }
        Ok(meta)
    }

    pub async fn active_allocator(&self) -> Result<Option<ActiveAllocator>, PluginStoreError> {
        match self.store.get(ACTIVE_ALLOCATOR_KEY).await? {
            Some(value) => Ok(Some(
                serde_json::from_slice(&value).map_err(|e| corrupt(ACTIVE_ALLOCATOR_KEY, e))?,
            )),
            None => Ok(None),
        }
    }

    pub async fn set_active_allocator(
        &self,
        active: &ActiveAllocator,
    ) -> Result<(), PluginStoreError> {
        self.store.apply(vec![put_active_allocator(active)]).await?;
        Ok(())
    }
}

pub fn put_active_allocator(active: &ActiveAllocator) -> WriteOp {
    WriteOp::Put {
        key: ACTIVE_ALLOCATOR_KEY.to_string(),
        value: serde_json::to_vec(active).unwrap_or_default(),
    }
}

fn put_meta(meta: &PluginMeta) -> WriteOp {
    WriteOp::Put {
        key: meta_key(&meta.sha256),
        // Serializing this plain struct cannot fail.
        value: serde_json::to_vec(meta).unwrap_or_default(),
    }
}

/// The capabilities a manifest asks for, one line each; empty when it asks for none.
pub fn capability_summary(manifest: &Manifest) -> Vec<String> {
    let c = &manifest.capabilities;
    let mut out = Vec::new();
    if !c.devices.is_empty() {
        out.push(format!("devices: {}", c.devices.join(", ")));
    }
    if !c.read_paths.is_empty() {
        out.push(format!("read paths: {}", c.read_paths.join(", ")));
    }
    if !c.cgroup_controllers.is_empty() {
        out.push(format!(
            "cgroup controllers: {}",
            c.cgroup_controllers.join(", ")
        ));
    }
    if c.task_environment {
        out.push("task environment: yes".to_string());
    }
    if c.override_task_environment {
        out.push("override the task's own environment variables: yes".to_string());
    }
    out
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
