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
//!
//! An allocator's `allocate` walks the whole cluster, so it gets a long deadline (the event
//! calls share it; they are index updates and take microseconds). An executor only turns
//! events into actions; 100 ms is generous.

use std::time::Duration;

/// The WIT package version this host speaks.
pub const WIT_VERSION: &str = "0.1.0";
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
}

impl PluginKind {
    /// The WIT interface name, e.g. "allocator".
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::Allocator => "allocator",
            PluginKind::Executor => "executor",
            PluginKind::Isolator => "isolator",
            PluginKind::Hook => "hook",
        }
    }

    /// The export a component of this kind must have, e.g. "corral:plugin/allocator@0.1.0".
    pub fn export_name(self) -> String {
        format!("{WIT_PACKAGE}/{}@{WIT_VERSION}", self.interface())
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.interface())
    }
}
