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

use std::sync::Arc;

use crate::plugins::allocator::AllocatorFactory;
use crate::state::StateStore;

#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Plugin(#[from] crate::plugins::PluginError),
}

/// A running master. Dropping it does not stop it; call `shutdown`.
pub struct MasterHandle {
    /// The address actually bound (the port may have been 0).
    pub addr: SocketAddr,
}

impl MasterHandle {
    /// Resolves when the master stops (it normally runs until the process ends).
    pub async fn wait(self) {
        todo!("implemented by the master work")
    }
}

/// Starts the master's HTTP server and allocation loop.
pub async fn run(
    _config: MasterConfig,
    _allocator: AllocatorFactory,
    _store: Arc<dyn StateStore>,
) -> Result<MasterHandle, MasterError> {
    todo!("implemented by the master work")
}
