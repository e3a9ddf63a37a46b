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
