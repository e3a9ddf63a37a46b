//! The plugin host's shared vocabulary: the kinds of plugin, the WIT package and version they
//! are built against, and the bounds on every call into one. It imports nothing of the crate,
//! so the loaders, the manifest, the sandbox and the engine all build on it.
//!
//! Default limits (see [`PluginLimits`]):
//!
//! | kind      | call deadline | memory  |
//! |-----------|---------------|---------|
//! | allocator | 1 s           | 256 MiB |
//! | executor  | 100 ms        | 32 MiB  |
//! | isolator  | 1 s           | 64 MiB  |
//! | authorizer| 100 ms        | 32 MiB  |
//!
//! An allocator's `allocate` walks the whole cluster, so it gets a long deadline (the event
//! calls share it; they are index updates and take microseconds). An executor only turns
//! events into actions; 100 ms is generous. An authorizer answers one question on a request's
//! path (and its answers are cached), so it gets the executor's bounds.
//!
//! How the version moves (wit/RATIONALE.md): an addition (a new kind, interface or world)
//! moves the patch (0.1.0 -> 0.1.1) and every component built against an earlier 0.1.x loads
//! unchanged, because wasmtime matches `@0.1.x` names as one; a change to anything existing
//! moves the minor (0.2.0), and components of another minor are refused naming both versions.

use std::time::Duration;

/// The WIT package version this host speaks (0.1.1 added the authorizer kind).
pub const WIT_VERSION: &str = "0.1.1";
/// The WIT package every plugin interface belongs to.
pub const WIT_PACKAGE: &str = "corral:plugin";

/// Bounds on every call into one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    pub call_deadline: Duration,
    pub memory_bytes: usize,
}

impl PluginLimits {
    /// Allocator defaults.
    pub const ALLOCATOR: PluginLimits = PluginLimits {
        call_deadline: Duration::from_secs(1),
        memory_bytes: 256 << 20,
    };
    /// Executor defaults, for every call.
    pub const EXECUTOR: PluginLimits = PluginLimits {
        call_deadline: Duration::from_millis(100),
        memory_bytes: 32 << 20,
    };
    /// Authorizer defaults, for every call.
    pub const AUTHORIZER: PluginLimits = PluginLimits::EXECUTOR;
    /// Isolator maximums (a manifest may ask for less): `discover` reads driver files and
    /// `prepare` runs before every task launch on the agent.
    pub const ISOLATOR: PluginLimits = PluginLimits {
        call_deadline: Duration::from_secs(1),
        memory_bytes: 64 << 20,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Allocator,
    Executor,
    Isolator,
    Hook,
    Authorizer,
}

impl PluginKind {
    /// The WIT interface name, e.g. "allocator".
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::Allocator => "allocator",
            PluginKind::Executor => "executor",
            PluginKind::Isolator => "isolator",
            PluginKind::Hook => "hook",
            PluginKind::Authorizer => "authorizer",
        }
    }

    /// The first WIT version that has this kind.
    pub fn since(self) -> &'static str {
        match self {
            PluginKind::Authorizer => "0.1.1",
            _ => "0.1.0",
        }
    }

    /// The export a component of this kind must have, e.g. "corral:plugin/allocator@0.1.0".
    pub fn export_name(self) -> String {
        format!("{WIT_PACKAGE}/{}@{WIT_VERSION}", self.interface())
    }
}

/// Whether a component or manifest built against WIT `version` runs on this host: the same
/// 0.x line as [`WIT_VERSION`] and not newer (wasmtime resolves its `@0.1.x` imports and exports
/// against this host's).
pub fn wit_compatible(version: &str) -> bool {
    match (parse_version(version), parse_version(WIT_VERSION)) {
        (Some(found), Some(host)) => found[..2] == host[..2] && found <= host,
        _ => false,
    }
}

/// Whether a `kind` component built against WIT `version` runs on this host: compatible, and
/// not older than the version that added the kind.
pub fn wit_loads(kind: PluginKind, version: &str) -> bool {
    wit_compatible(version) && parse_version(version) >= parse_version(kind.since())
}

/// "0.1.1" -> [0, 1, 1]; anything else (pre-releases included) -> None.
fn parse_version(version: &str) -> Option<[u64; 3]> {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let parsed = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some(parsed)
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.interface())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_versions_of_the_line_are_compatible_and_others_not() {
        assert!(wit_compatible("0.1.0"));
        assert!(wit_compatible(WIT_VERSION));
        assert!(wit_loads(PluginKind::Hook, "0.1.0"));
        assert!(!wit_loads(PluginKind::Authorizer, "0.1.0"));
        assert!(wit_loads(PluginKind::Authorizer, "0.1.1"));
        for other in ["0.1.2", "0.2.0", "1.1.1", "0.1", "0.1.1-rc1", "0.1.1.0", ""] {
            assert!(!wit_compatible(other), "{other}");
        }
    }
}
