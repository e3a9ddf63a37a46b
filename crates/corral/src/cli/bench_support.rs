//! What the benchmarks that run real processes share: free loopback ports, a local etcd,
//! child processes and temp dirs that go away with the benchmark, and waiting for a
//! condition.

use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::bail;
use corral_state::etcd_launcher::LocalEtcd;

/// Kills the child (SIGKILL) on drop.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed on drop.
pub struct RemoveOnDrop(pub std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(corral_state::loopback_port::free_loopback_port()?)
}

/// A one-member etcd with its data under `dir`, started on the blocking pool (starting it
/// waits for the process, with sleeps).
pub async fn start_local_etcd(dir: std::path::PathBuf) -> anyhow::Result<LocalEtcd> {
    Ok(tokio::task::spawn_blocking(move || LocalEtcd::start(&dir)).await??)
}

/// Checks every 10 ms until `check` gives a value; an error after `limit`.
pub async fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting for {what} after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
