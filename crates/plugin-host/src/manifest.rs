//! A plugin's manifest: who it is and what it may do. The host grants a plugin exactly what its
//! manifest lists (device globs, readable paths, cgroup controllers, the task environment) and
//! runs it under the manifest's limits, capped by the host's own maximums.
//!
//! ```toml
//! name = "gpu"
//! kind = "isolator"
//! version = "1.2.0"
//! wit = "0.1.1"
//!
//! [capabilities]
//! devices = ["/dev/nvidia[0-9]*", "/dev/nvidiactl", "/dev/nvidia-uvm"]
//! read_paths = ["/proc/driver/nvidia/gpus"]
//! cgroup_controllers = ["devices"]
//! task_environment = false
//!
//! [limits]
//! call_deadline_ms = 500
//! memory_mib = 64
//! ```
//!
//! The manifest sits beside the wasm as TOML, or inside it as the custom section
//! [`CUSTOM_SECTION`].

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::plugin_kind::{PluginKind, PluginLimits, WIT_VERSION, wit_loads};

/// The name of the wasm custom section that may carry the manifest's TOML.
pub const CUSTOM_SECTION: &str = "corral-manifest";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is not valid TOML: {0}")]
    Toml(String),
    #[error("manifest field '{field}' is invalid: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("plugin '{plugin}' was built against corral:plugin@{found}; this host speaks @{host}")]
    WitVersion {
        plugin: String,
        found: String,
        host: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub kind: ManifestKind,
    pub version: String,
    /// The WIT package version the plugin was built against, e.g. "0.1.1" (any earlier
    /// 0.1.x loads too).
    pub wit: String,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: ManifestLimits,
}

/// `kind` as it is written in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManifestKind {
    Allocator,
    Executor,
    Isolator,
    Hook,
    Authorizer,
}

impl From<ManifestKind> for PluginKind {
    fn from(kind: ManifestKind) -> Self {
        match kind {
            ManifestKind::Allocator => PluginKind::Allocator,
            ManifestKind::Executor => PluginKind::Executor,
            ManifestKind::Isolator => PluginKind::Isolator,
            ManifestKind::Hook => PluginKind::Hook,
            ManifestKind::Authorizer => PluginKind::Authorizer,
        }
    }
}

/// What the plugin may reach. Everything absent is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Globs of device nodes the plugin may list and put in launch plans ("/dev/nvidia[0-9]*").
    #[serde(default)]
    pub devices: Vec<String>,
    /// Files or directories (and everything below them) the plugin may read.
    #[serde(default)]
    pub read_paths: Vec<String>,
    /// cgroup controllers whose settings the plugin's launch plans may set ("devices", "cpu").
    #[serde(default)]
    pub cgroup_controllers: Vec<String>,
    /// Whether the plugin sees tasks' environment variables.
    #[serde(default)]
    pub task_environment: bool,
    /// A hook's environment may replace variables the task sets itself (never PATH or LD_*).
    #[serde(default)]
    pub override_task_environment: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLimits {
    pub call_deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
}

impl Manifest {
    /// Parses and checks a manifest: names and globs well formed, the WIT version this host's.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Toml(e.message().to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest a plugin carries in its [`CUSTOM_SECTION`], if any.
    pub fn from_custom_section(wasm: &[u8]) -> Result<Option<Manifest>, ManifestError> {
        match custom_section(wasm, CUSTOM_SECTION) {
            Some(bytes) => {
                let text = std::str::from_utf8(bytes).map_err(|e| ManifestError::Field {
                    field: CUSTOM_SECTION,
                    reason: format!("not UTF-8: {e}"),
                })?;
                Manifest::parse(text).map(Some)
            }
            None => Ok(None),
        }
    }

    pub fn to_toml(&self) -> String {
        // Serializing this plain struct to TOML cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), ManifestError> {
        let field = |field: &'static str, reason: String| ManifestError::Field { field, reason };
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(field(
                "name",
                format!("'{}' must be non-empty [A-Za-z0-9_-]", self.name),
            ));
        }
        if self.version.trim().is_empty() {
            return Err(field("version", "must not be empty".into()));
        }
        if !wit_loads(self.plugin_kind(), &self.wit) {
            return Err(ManifestError::WitVersion {
                plugin: self.name.clone(),
                found: self.wit.clone(),
                host: WIT_VERSION.to_string(),
            });
        }
        for pattern in &self.capabilities.devices {
            if !pattern.starts_with("/dev/") {
                return Err(field(
                    "capabilities.devices",
                    format!("'{pattern}' is not under /dev/"),
                ));
            }
            glob::Pattern::new(pattern)
                .map_err(|e| field("capabilities.devices", format!("'{pattern}': {e}")))?;
        }
        for path in &self.capabilities.read_paths {
            if !path.starts_with('/') || path.split('/').any(|part| part == "..") {
                return Err(field(
                    "capabilities.read_paths",
                    format!("'{path}' must be absolute, without '..'"),
                ));
            }
        }
        if self.limits.call_deadline_ms == Some(0) {
            return Err(field("limits.call_deadline_ms", "must be above 0".into()));
        }
        if self.limits.memory_mib == Some(0) {
            return Err(field("limits.memory_mib", "must be above 0".into()));
        }
        Ok(())
    }

    pub fn plugin_kind(&self) -> PluginKind {
        self.kind.into()
    }

    /// Whether the manifest grants the device node `path` (a path like "/dev/nvidia0").
    pub fn grants_device(&self, path: &str) -> bool {
        self.capabilities.devices.iter().any(|pattern| {
            glob::Pattern::new(pattern)
                .map(|p| p.matches(path))
                .unwrap_or(false)
        })
    }

    /// Whether `path` is one of the granted read paths or below one. A path with `..` never is.
    pub fn grants_read(&self, path: &str) -> bool {
        if path.split('/').any(|part| part == "..") {
            return false;
        }
        let path = Path::new(path);
        self.capabilities
            .read_paths
            .iter()
            .any(|granted| path.starts_with(granted))
    }

    pub fn grants_cgroup_controller(&self, controller: &str) -> bool {
        self.capabilities
            .cgroup_controllers
            .iter()
            .any(|c| c == controller)
    }

    /// The limits to run under: the manifest's, never above `max` (the host's for the kind).
    pub fn limits(&self, max: PluginLimits) -> PluginLimits {
        let deadline = self
            .limits
            .call_deadline_ms
            .map(Duration::from_millis)
            .map_or(max.call_deadline, |d| d.min(max.call_deadline));
        let memory = self
            .limits
            .memory_mib
            .and_then(|mib| usize::try_from(mib.saturating_mul(1 << 20)).ok())
            .map_or(max.memory_bytes, |m| m.min(max.memory_bytes));
        PluginLimits {
            call_deadline: deadline,
            memory_bytes: memory,
        }
    }
}

/// The payload of the first custom section called `name` in a wasm binary (module or
/// component), or `None`. Malformed binaries yield `None`; compiling them reports why.
pub fn custom_section<'a>(wasm: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let parser = wasmparser::Parser::new(0);
    for payload in parser.parse_all(wasm) {
        if let Ok(wasmparser::Payload::CustomSection(section)) = payload
            && section.name() == name
        {
            return Some(section.data());
        }
    }
    None
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
