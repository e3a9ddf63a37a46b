//! A running master, single (`start.rs`) or elected (`leader.rs`), as its owner holds it.

use std::net::SocketAddr;
use std::time::Duration;

/// Stops what the master runs: the one core of a single master, or an elected master's
/// campaign and whatever core it runs.
type Stopper = Box<dyn Fn() + Send + Sync>;

/// A running master. Dropping it does not stop it; call `shutdown`.
pub struct MasterHandle {
    /// The address actually bound (the port may have been 0).
    pub addr: SocketAddr,
    stopper: Stopper,
    server: tokio::task::JoinHandle<()>,
}

impl MasterHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        stopper: Stopper,
        server: tokio::task::JoinHandle<()>,
    ) -> Self {
        MasterHandle {
            addr,
            stopper,
            server,
        }
    }

    /// Resolves when the master stops (it normally runs until the process ends).
    pub async fn wait(self) {
        if let Err(error) = self.server.await {
            tracing::error!(%error, "the master's HTTP server task failed");
        }
    }

    /// Serves until `signal` resolves, then shuts down and waits a moment for that (an
    /// elected master resigns its term, so another leads at once). False when the server
    /// stopped by itself first.
    pub async fn serve_until(mut self, signal: impl std::future::Future<Output = ()>) -> bool {
        tokio::select! {
            result = &mut self.server => {
                if let Err(error) = result {
                    tracing::error!(%error, "the master's HTTP server task failed");
                }
                return false;
            }
            () = signal => {}
        }
        self.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(3), &mut self.server).await;
        true
    }

    /// Stops serving: every stream ends, the loops stop, nothing more is written to the
    /// registry. Frameworks and agents are not treated as disconnected (a restarted master
    /// on the same registry takes them back).
    pub fn shutdown(&self) {
        (self.stopper)();
    }
}
