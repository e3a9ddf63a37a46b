//! The status update manager: per task an ordered queue of updates that are not yet
//! acknowledged, checkpointed on every change (by the checkpoint writer, in order). Only the
//! head of a queue is in flight; it is resent until the master relays its acknowledgement,
//! then the next one goes. Every change wakes the update sender.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::checkpoint::{CheckpointError, path_component};
use super::checkpoint_writer::CheckpointWriter;
use super::locks::lock;
use super::task_status::now_secs;
use corral_api::v1::{FrameworkId, TaskId, TaskState, TaskStatus};
use corral_plugin_host::stats::Histogram;

/// One task's pending updates as they are stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredQueue {
    framework_id: FrameworkId,
    task_id: TaskId,
    updates: Vec<TaskStatus>,
}

#[derive(Debug)]
struct Queue {
    updates: VecDeque<TaskStatus>,
    /// When the head was last handed out for sending; `None` means it is due now.
    last_sent: Option<Instant>,
}

type Key = (FrameworkId, TaskId);

/// What an acknowledgement did.
#[derive(Debug, Clone, PartialEq)]
pub enum AckOutcome {
    /// The head was acknowledged and removed; it had this state.
    Acknowledged(TaskState),
    /// The uuid is not the head of that task's queue (a duplicate or a stale ack).
    Ignored,
}

pub struct StatusUpdateManager {
    dir: PathBuf,
    queues: Mutex<BTreeMap<Key, Queue>>,
    writer: CheckpointWriter,
    /// Wakes the update sender: a new update, an acknowledgement, or all due again.
    changed: Notify,
    /// From an update's creation (its `timestamp`) to its acknowledgement, in milliseconds.
    acknowledged_after_ms: Histogram,
}

/// Upper bounds (milliseconds) of the acknowledgement latency buckets: a local round trip
/// takes milliseconds, a framework that acknowledges late or an agent cut off takes minutes.
pub const ACK_BUCKETS_MS: &[u64] = &[
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
];

/// Where the unacknowledged updates are checkpointed.
pub fn updates_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("updates")
}

impl StatusUpdateManager {
    /// Loads the checkpointed queues under `<work_dir>/updates` (reads files: call it off the
    /// async threads). An unreadable file is logged and left in place for an operator, not
    /// deleted. Later changes are written through `writer`.
    pub fn load(work_dir: &Path, writer: CheckpointWriter) -> Result<Self, CheckpointError> {
        let dir = updates_dir(work_dir);
        let mut queues = BTreeMap::new();
        for file in list_json_files(&dir)? {
            let stored = std::fs::read(&file)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<StoredQueue>(&bytes).map_err(|e| e.to_string())
                });
            match stored {
                Ok(q) if !q.updates.is_empty() => {
                    let queue = Queue {
                        updates: q.updates.into(),
                        last_sent: None,
                    };
                    queues.insert((q.framework_id, q.task_id), queue);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!("skipping unreadable status updates {}: {e}", file.display())
                }
            }
        }
        if !queues.is_empty() {
            tracing::info!(
                "recovered unacknowledged status updates of {} tasks",
                queues.len()
            );
        }
        Ok(StatusUpdateManager {
            dir,
            queues: Mutex::new(queues),
            writer,
            changed: Notify::new(),
            acknowledged_after_ms: Histogram::new(ACK_BUCKETS_MS),
        })
    }

    fn file(&self, framework_id: &FrameworkId, task_id: &TaskId) -> PathBuf {
        self.dir
            .join(path_component(&framework_id.value))
            .join(format!("{}.json", path_component(&task_id.value)))
    }

    /// Hands the queue's new content (or its removal) to the writer. Called with the queues
    /// locked, so the writes of one queue reach the writer in the order of its changes. A
    /// failure is logged by the writer: the update stays queued in memory and is still
    /// delivered; only a restart loses it.
    fn persist(&self, key: &Key, queue: Option<&Queue>) {
        let path = self.file(&key.0, &key.1);
        let what = format!("the status updates of task {}", key.1);
        match queue {
            Some(q) if !q.updates.is_empty() => {
                let stored = StoredQueue {
                    framework_id: key.0.clone(),
                    task_id: key.1.clone(),
                    updates: q.updates.iter().cloned().collect(),
                };
                match serde_json::to_vec_pretty(&stored) {
                    Ok(bytes) => drop(self.writer.write(path, bytes, what)),
                    Err(e) => tracing::error!("cannot checkpoint {what}: {e}"),
                }
            }
            _ => drop(self.writer.remove(path, what)),
        }
    }

    /// Resolves once every change so far is on disk (before an update is sent, as Mesos
    /// checkpoints it before forwarding it).
    pub async fn flush(&self) {
        self.writer.flush().await;
    }

    /// Resolves at the next change (or at once if one happened since the last wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Queues `status` (which must carry a uuid) behind the task's earlier updates.
    pub fn enqueue(&self, framework_id: &FrameworkId, status: TaskStatus) {
        let key = (framework_id.clone(), status.task_id.clone());
        let mut queues = lock(&self.queues);
        let queue = queues.entry(key.clone()).or_insert_with(|| Queue {
            updates: VecDeque::new(),
            last_sent: None,
        });
        queue.updates.push_back(status);
        self.persist(&key, Some(queue));
        drop(queues);
        self.changed.notify_one();
    }

    /// Removes the head of the task's queue if its uuid is `uuid`.
    pub fn acknowledge(
        &self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        uuid: &str,
    ) -> AckOutcome {
        let key = (framework_id.clone(), task_id.clone());
        let mut queues = lock(&self.queues);
        let Some(queue) = queues.get_mut(&key) else {
            return AckOutcome::Ignored;
        };
        if queue.updates.front().and_then(|s| s.uuid.as_deref()) != Some(uuid) {
            return AckOutcome::Ignored;
        }
        let Some(acked) = queue.updates.pop_front() else {
            return AckOutcome::Ignored;
        };
        queue.last_sent = None;
        if queue.updates.is_empty() {
            queues.remove(&key);
            self.persist(&key, None);
        } else {
            self.persist(&key, queues.get(&key));
        }
        drop(queues);
        self.changed.notify_one();
        if let Some(created) = acked.timestamp.filter(|t| t.is_finite() && *t > 0.0) {
            let after = (now_secs() - created).max(0.0);
            self.acknowledged_after_ms.record((after * 1000.0) as u64);
        }
        AckOutcome::Acknowledged(acked.state)
    }

    /// The heads that are due (never sent, or sent more than `retry` ago), marked as sent now.
    pub fn take_due(&self, now: Instant, retry: Duration) -> Vec<(FrameworkId, TaskStatus)> {
        let mut queues = lock(&self.queues);
        let mut due = Vec::new();
        for ((framework_id, _), queue) in queues.iter_mut() {
            let is_due = queue
                .last_sent
                .is_none_or(|t| now.duration_since(t) >= retry);
            if let (true, Some(head)) = (is_due, queue.updates.front()) {
                queue.last_sent = Some(now);
                due.push((framework_id.clone(), head.clone()));
            }
        }
        due
    }

    /// When the next head falls due, if anything is queued.
    pub fn next_due(&self, retry: Duration) -> Option<Instant> {
        let queues = lock(&self.queues);
        let now = Instant::now();
        queues
            .values()
            .map(|q| q.last_sent.map_or(now, |t| t + retry))
            .min()
    }

    /// Makes every head due at once (after a re-registration).
    pub fn mark_all_due(&self) {
        for queue in lock(&self.queues).values_mut() {
            queue.last_sent = None;
        }
        self.changed.notify_one();
    }

    /// Drops every pending update of a framework that was shut down, as Mesos does.
    pub fn forget_framework(&self, framework_id: &FrameworkId) {
        let mut queues = lock(&self.queues);
        let keys: Vec<Key> = queues
            .keys()
            .filter(|k| &k.0 == framework_id)
            .cloned()
            .collect();
        for key in keys {
            queues.remove(&key);
            self.persist(&key, None);
        }
    }

    /// The pending updates of one task, oldest first.
    pub fn pending(&self, framework_id: &FrameworkId, task_id: &TaskId) -> Vec<TaskStatus> {
        lock(&self.queues)
            .get(&(framework_id.clone(), task_id.clone()))
            .map(|q| q.updates.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How long acknowledged updates waited for their acknowledgement, in milliseconds.
    pub fn acknowledgement_latency(&self) -> &Histogram {
        &self.acknowledged_after_ms
    }

    pub fn pending_count(&self) -> usize {
        lock(&self.queues).values().map(|q| q.updates.len()).sum()
    }
}

/// The queue files under `dir` (`<framework>/<task>.json`).
fn list_json_files(dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    let err = |path: &Path, e: std::io::Error| CheckpointError {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    let frameworks = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(err(dir, e)),
    };
    for framework in frameworks {
        let framework = framework.map_err(|e| err(dir, e))?.path();
        if !framework.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&framework).map_err(|e| err(&framework, e))? {
            let file = file.map_err(|e| err(&framework, e))?.path();
            if file.extension().is_some_and(|x| x == "json") {
                out.push(file);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(task: &str, state: TaskState, uuid: &str) -> TaskStatus {
        TaskStatus {
            task_id: TaskId::new(task),
            state,
            uuid: Some(uuid.to_string()),
            ..Default::default()
        }
    }

    fn writer() -> CheckpointWriter {
        CheckpointWriter::start().expect("writer thread")
    }

    #[test]
    fn only_the_head_is_sent_and_resent_until_acknowledged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manager = StatusUpdateManager::load(dir.path(), writer()).expect("loads");
        let fw = FrameworkId::new("f");
        manager.enqueue(&fw, status("t", TaskState::TaskStarting, "u1"));
        manager.enqueue(&fw, status("t", TaskState::TaskRunning, "u2"));
        let retry = Duration::from_secs(10);
        let t0 = Instant::now();
        let first = manager.take_due(t0, retry);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1.uuid.as_deref(), Some("u1"));
        assert!(
            manager
                .take_due(t0 + Duration::from_secs(1), retry)
                .is_empty()
        );
        let again = manager.take_due(t0 + retry, retry);
        assert_eq!(again[0].1.uuid.as_deref(), Some("u1"));

        let fw_t = (fw.clone(), TaskId::new("t"));
        assert_eq!(
            manager.acknowledge(&fw_t.0, &fw_t.1, "u2"),
            AckOutcome::Ignored
        );
        assert!(matches!(
            manager.acknowledge(&fw_t.0, &fw_t.1, "u1"),
            AckOutcome::Acknowledged(_)
        ));
        let next = manager.take_due(t0 + retry, retry);
        assert_eq!(next[0].1.uuid.as_deref(), Some("u2"));
    }

    #[tokio::test]
    async fn queues_survive_a_reload_and_vanish_when_acknowledged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fw = FrameworkId::new("fw/1");
        {
            let manager = StatusUpdateManager::load(dir.path(), writer()).expect("loads");
            manager.enqueue(&fw, status("t", TaskState::TaskRunning, "u1"));
            manager.enqueue(&fw, status("t", TaskState::TaskFinished, "u2"));
            manager.flush().await;
        }
        let manager = StatusUpdateManager::load(dir.path(), writer()).expect("reloads");
        let uuids: Vec<_> = manager
            .pending(&fw, &TaskId::new("t"))
            .into_iter()
            .filter_map(|s| s.uuid)
            .collect();
        assert_eq!(uuids, vec!["u1", "u2"]);
        manager.acknowledge(&fw, &TaskId::new("t"), "u1");
        manager.acknowledge(&fw, &TaskId::new("t"), "u2");
        manager.flush().await;
        assert_eq!(manager.pending_count(), 0);
        let file = dir.path().join("updates").join("fw%2F1").join("t.json");
        assert!(!file.exists(), "acknowledged queue still on disk");
    }

    #[test]
    fn a_corrupt_file_is_skipped_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bad = dir.path().join("updates").join("f").join("t.json");
        std::fs::create_dir_all(bad.parent().expect("parent")).expect("mkdir");
        std::fs::write(&bad, b"{not json").expect("write");
        let manager = StatusUpdateManager::load(dir.path(), writer()).expect("loads anyway");
        assert_eq!(manager.pending_count(), 0);
        assert!(bad.exists());
    }
}
