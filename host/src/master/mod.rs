//! The master: frameworks, agents, offers, tasks and the allocation loop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the master keeps its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSpec {
    /// redb file.
    File(PathBuf),
    /// In memory only (tests).
    Memory,
}

#[derive(Debug, Clone)]
pub struct MasterConfig {
    pub listen: SocketAddr,
    pub hostname: String,
    pub state: StateSpec,
    /// A built-in allocator name ("drf") or a path to a `.wasm` component.
    pub allocator: String,
    pub allocation_interval: Duration,
    pub heartbeat_interval: Duration,
}
