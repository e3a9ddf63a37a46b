//! Disk quota of a task's sandbox, as Mesos' `disk/du` isolator keeps it: every
//! `--container-disk-watch-interval` the sandbox of each task with a `disk` resource is
//! measured (`disk_usage.rs`); the last figure is reported in the container's statistics
//! (`disk_used_bytes`, with `disk_limit_bytes`), and with `--enforce-container-disk-quota`
//! a task over its `disk` is ended by its runner: TASK_FAILED,
//! REASON_CONTAINER_LIMITATION_DISK, "Disk usage (X) exceeds quota (Y)" (Mesos' words).
//!
//! The walks cost the agent's disk and CPU, so they are bounded as Mesos bounds its `du`s:
//! one walk at a time for the whole agent (a task with a million files delays the others'
//! figures, it does not stall the agent), on tokio's blocking pool, never on an async thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use super::disk_usage::disk_usage;
use super::locks::lock;
use super::runner_input::RunnerInput;
use corral_api::v1::{Resource, reason};

/// Mesos' `--container_disk_watch_interval` default.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(15);

/// `--container-disk-watch-interval` and `--enforce-container-disk-quota`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskQuotaConfig {
    pub watch_interval: Duration,
    /// Kill a task whose sandbox grows past its `disk` (Mesos' default: off).
    pub enforce: bool,
}

impl Default for DiskQuotaConfig {
    fn default() -> DiskQuotaConfig {
        DiskQuotaConfig {
            watch_interval: DEFAULT_WATCH_INTERVAL,
            enforce: false,
        }
    }
}

/// The agent's disk watcher: the last usage of each watched container, and the one walk
/// allowed at a time.
#[derive(Debug)]
pub struct DiskWatch {
    config: DiskQuotaConfig,
    used: Mutex<HashMap<String, u64>>,
    walks: Arc<Semaphore>,
}

/// The bytes of a task's `disk` (in MB, as Mesos counts it); `None`: the task asked for no
/// disk and is neither measured nor limited.
pub fn disk_limit_bytes(resources: &[Resource]) -> Option<u64> {
    if !resources.iter().any(|r| r.name == "disk") {
        return None;
    }
    let mb = corral_api::resources::Resources::from_list(resources).scalar("disk");
    Some((mb * 1024.0 * 1024.0) as u64)
}

/// Bytes as Mesos prints them (stout's `Bytes`): the largest unit that loses nothing, e.g.
/// "10MB", "1536KB", "1000B".
pub fn mesos_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes == 0 || !bytes.is_multiple_of(1024) {
        return format!("{bytes}B");
    }
    let mut value = bytes / 1024;
    for unit in &UNITS[..UNITS.len() - 1] {
        if !value.is_multiple_of(1024) {
            return format!("{value}{unit}");
        }
        value /= 1024;
    }
    format!("{value}TB")
}

/// Mesos' limitation message.
pub fn limitation_message(used: u64, limit: u64) -> String {
    format!(
        "Disk usage ({}) exceeds quota ({})",
        mesos_bytes(used),
        mesos_bytes(limit)
    )
}

impl DiskWatch {
    pub fn new(config: DiskQuotaConfig) -> Arc<DiskWatch> {
        Arc::new(DiskWatch {
            config,
            used: Mutex::new(HashMap::new()),
            walks: Arc::new(Semaphore::new(1)),
        })
    }

    /// The container's usage at the last walk; `None` before the first one or when it is not
    /// watched (Mesos leaves `disk_used_bytes` out then).
    pub fn used(&self, container_id: &str) -> Option<u64> {
        lock(&self.used).get(container_id).copied()
    }

    /// Watches `sandbox` until the returned handle is aborted (the task ended). Over `limit`
    /// with enforcement on, the task's runner gets a [`RunnerInput::Limitation`] and the
    /// watch stops.
    pub fn start(
        self: &Arc<DiskWatch>,
        container_id: String,
        sandbox: PathBuf,
        limit: u64,
        runner: UnboundedSender<RunnerInput>,
    ) -> AbortHandle {
        let watch = self.clone();
        tokio::spawn(async move {
            let _forget = Forget {
                watch: &watch,
                container_id: &container_id,
            };
            loop {
                if let Some(used) = watch.measure(&sandbox).await {
                    lock(&watch.used).insert(container_id.clone(), used);
                    if watch.config.enforce && used > limit {
                        let message = limitation_message(used, limit);
                        let _ = runner.send(RunnerInput::Limitation {
                            message,
                            reason: reason::CONTAINER_LIMITATION_DISK,
                        });
                        return;
                    }
                }
                tokio::time::sleep(watch.config.watch_interval).await;
            }
        })
        .abort_handle()
    }

    /// One walk of `sandbox`, after the walk before it (of any task) is over.
    async fn measure(&self, sandbox: &std::path::Path) -> Option<u64> {
        let permit = self.walks.clone().acquire_owned().await.ok()?;
        let path = sandbox.to_path_buf();
        // The permit goes with the walk: a watch aborted meanwhile still lets it finish
        // before the next one starts.
        let walked = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            disk_usage(&path)
        })
        .await;
        match walked {
            Ok(Ok(bytes)) => Some(bytes),
            Ok(Err(e)) => {
                tracing::debug!("cannot measure the sandbox {}: {e}", sandbox.display());
                None
            }
            Err(e) => {
                tracing::error!("measuring the sandbox {} panicked: {e}", sandbox.display());
                None
            }
        }
    }
}

/// Drops a container's figure when its watch ends (aborted or over the limit).
struct Forget<'a> {
    watch: &'a DiskWatch,
    container_id: &'a str,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(&self.watch.used).remove(self.container_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_as_mesos_prints_them() {
        assert_eq!(mesos_bytes(0), "0B");
        assert_eq!(mesos_bytes(1000), "1000B");
        assert_eq!(mesos_bytes(1536 * 1024), "1536KB");
        assert_eq!(mesos_bytes(10 << 20), "10MB");
        assert_eq!(mesos_bytes(3 << 30), "3GB");
        assert_eq!(mesos_bytes(2 << 40), "2TB");
        assert_eq!(
            limitation_message(11 << 20, 10 << 20),
            "Disk usage (11MB) exceeds quota (10MB)"
        );
    }

    #[test]
    fn only_a_task_with_disk_is_limited() {
        let scalar = |name: &str, value: f64| Resource {
            name: name.into(),
            scalar: Some(corral_api::v1::Scalar { value }),
            ..Default::default()
        };
        assert_eq!(disk_limit_bytes(&[scalar("cpus", 1.0)]), None);
        assert_eq!(
            disk_limit_bytes(&[scalar("cpus", 1.0), scalar("disk", 10.0)]),
            Some(10 << 20)
        );
    }

    #[tokio::test]
    async fn a_sandbox_over_its_quota_is_reported_once_and_forgotten() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("big"), vec![1u8; 2 << 20]).expect("write");
        let watch = DiskWatch::new(DiskQuotaConfig {
            watch_interval: Duration::from_millis(10),
            enforce: true,
        });
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _handle = watch.start("c1".into(), dir.path().to_path_buf(), 1 << 20, tx);
        match rx.recv().await {
            Some(RunnerInput::Limitation { message, reason }) => {
                assert_eq!(reason, "REASON_CONTAINER_LIMITATION_DISK");
                assert!(message.ends_with("exceeds quota (1MB)"), "{message}");
            }
            other => panic!("no limitation: {other:?}"),
        }
        // The watch ended: nothing more comes, and its figure is gone.
        assert!(rx.recv().await.is_none());
        assert_eq!(watch.used("c1"), None);
    }

    #[tokio::test]
    async fn without_enforcement_the_usage_is_kept_for_the_statistics() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("big"), vec![1u8; 2 << 20]).expect("write");
        let watch = DiskWatch::new(DiskQuotaConfig {
            watch_interval: Duration::from_millis(10),
            enforce: false,
        });
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let handle = watch.start("c1".into(), dir.path().to_path_buf(), 1 << 20, tx);
        let mut used = None;
        for _ in 0..500 {
            used = watch.used("c1");
            if used.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(used.is_some_and(|u| u >= 2 << 20), "{used:?}");
        handle.abort();
        for _ in 0..500 {
            if watch.used("c1").is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(watch.used("c1"), None);
    }
}
