//! The agent: registers with the master, runs tasks through the executor plugin, and
//! delivers their status updates reliably.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// "host:port" of the master.
    pub master: String,
    pub listen: SocketAddr,
    pub hostname: String,
    pub work_dir: PathBuf,
    /// `--resources` text; detected from the machine when absent.
    pub resources: Option<String>,
    /// `--attributes` text.
    pub attributes: Option<String>,
    /// A built-in executor name ("command") or a path to a `.wasm` component.
    pub executor: String,
    /// How long to wait for an acknowledgement before resending a status update.
    pub status_update_retry: Duration,
}

use crate::plugins::executor::ExecutorFactory;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("work dir {path}: {reason}")]
    WorkDir { path: String, reason: String },
    #[error("bad --resources or --attributes: {0}")]
    Resources(#[from] crate::resources::ParseError),
}

/// A running agent.
pub struct AgentHandle {
    pub addr: SocketAddr,
}

impl AgentHandle {
    pub async fn wait(self) {
        todo!("implemented by the agent work")
    }
}

/// Starts the agent's HTTP server and its registration loop with the master.
pub async fn run(
    _config: AgentConfig,
    _executor: ExecutorFactory,
) -> Result<AgentHandle, AgentError> {
    todo!("implemented by the agent work")
}
