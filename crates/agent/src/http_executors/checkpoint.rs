//! What the agent checkpoints per HTTP executor: `<work_dir>/meta/executors/<container id>/`
//! holds `executor.json` (its process, to find it again) and the supervisor's `exit` file.
//! A restarted agent adopts the ones still running that have non-terminal tasks
//! (`recover.rs`) and kills the others.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::checkpoint::{self, path_component};
use super::super::{processes, supervisor};
use corral_api::v1::{ExecutorId, FrameworkId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorCheckpoint {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub container_id: String,
    /// The supervisor (or, without one, the executor itself) and its start time.
    pub supervisor_pid: u32,
    pub supervisor_start: u64,
    /// The executor's process group.
    pub pgid: u32,
}

fn root(work_dir: &Path) -> PathBuf {
    work_dir.join("meta").join("executors")
}

pub fn dir(work_dir: &Path, container_id: &str) -> PathBuf {
    root(work_dir).join(path_component(container_id))
}

pub fn exit_file(work_dir: &Path, container_id: &str) -> PathBuf {
    dir(work_dir, container_id).join("exit")
}

pub fn save(work_dir: &Path, executor: &ExecutorCheckpoint) {
    let path = dir(work_dir, &executor.container_id).join("executor.json");
    let written = serde_json::to_vec_pretty(executor)
        .map_err(|e| e.to_string())
        .and_then(|bytes| checkpoint::write_atomic(&path, &bytes).map_err(|e| e.to_string()));
    if let Err(e) = written {
        tracing::error!(
            "executor {}: cannot checkpoint it: {e}",
            executor.executor_id
        );
    }
}

pub fn remove(work_dir: &Path, container_id: &str) {
    let path = dir(work_dir, container_id);
    if let Err(e) = std::fs::remove_dir_all(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("cannot remove {}: {e}", path.display());
    }
}

/// The executors an earlier run of this agent checkpointed whose process still runs; the
/// files of those that are gone are removed.
pub fn running(work_dir: &Path) -> Vec<ExecutorCheckpoint> {
    let Ok(entries) = std::fs::read_dir(root(work_dir)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let saved = std::fs::read(path.join("executor.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<ExecutorCheckpoint>(&bytes).ok());
        match saved {
            Some(e) if supervisor::is_alive(e.supervisor_pid, e.supervisor_start) => found.push(e),
            _ => {
                if let Err(e) = std::fs::remove_dir_all(&path) {
                    tracing::warn!("cannot remove {}: {e}", path.display());
                }
            }
        }
    }
    found
}

/// Kills an executor left by an earlier run that is not adopted, and forgets it.
pub fn kill(work_dir: &Path, e: &ExecutorCheckpoint, why: &str) {
    tracing::info!(
        "killing executor {} of framework {} left by an earlier run: {why}",
        e.executor_id,
        e.framework_id
    );
    let _ = processes::signal_group(e.pgid, libc::SIGKILL);
    remove(work_dir, &e.container_id);
}
