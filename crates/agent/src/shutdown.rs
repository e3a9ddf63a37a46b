//! The agent's stop signal, as each of its loops, runners and watchers sees it.

use tokio::sync::watch;

/// Set once, when the agent's handle is told to shut down.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn new(receiver: watch::Receiver<bool>) -> Shutdown {
        Shutdown(receiver)
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the agent is told to stop. A dropped handle never stops it.
    pub async fn stopped(&mut self) {
        // The guard `wait_for` returns is not Send; drop it before the caller goes on.
        let told = self.0.wait_for(|stop| *stop).await.map(|_| ()).is_ok();
        if !told {
            std::future::pending::<()>().await;
        }
    }
}
