//! What the agent checkpoints per HTTP executor: `<work_dir>/meta/executors/<container id>/`
//! holds `executor.json` (its process, to find it again) and the supervisor's `exit` file.
//! A restarted agent adopts the ones still running that have non-terminal tasks
//! (`recover.rs`) and kills the others. A running agent writes and removes them through its
//! checkpoint writer; recovery reads them off the async threads.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checkpoint::path_component;
use crate::checkpoint_writer::{CheckpointWriter, Pending};
use crate::{processes, supervisor};
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

/// Every executor's checkpoint lies under it.
pub fn root(work_dir: &Path) -> PathBuf {
    work_dir.join("meta").join("executors")
}

pub fn dir(work_dir: &Path, container_id: &str) -> PathBuf {
    root(work_dir).join(path_component(container_id))
}

pub fn exit_file(work_dir: &Path, container_id: &str) -> PathBuf {
    dir(work_dir, container_id).join("exit")
}

/// Checkpoints the executor through the writer; `None` if it cannot be encoded (logged).
pub fn save(
    writer: &CheckpointWriter,
    work_dir: &Path,
    executor: &ExecutorCheckpoint,
) -> Option<Pending> {
    let path = dir(work_dir, &executor.container_id).join("executor.json");
    let what = format!("executor {}", executor.executor_id);
    match serde_json::to_vec_pretty(executor) {
        Ok(bytes) => Some(writer.write(path, bytes, what)),
        Err(e) => {
            tracing::error!("cannot checkpoint {what}: {e}");
            None
        }
    }
}

/// Writes the executor's checkpoint here and now (tests).
#[cfg(test)]
pub fn save_now(
    work_dir: &Path,
    executor: &ExecutorCheckpoint,
) -> Result<(), crate::checkpoint::CheckpointError> {
    let path = dir(work_dir, &executor.container_id).join("executor.json");
    let bytes =
        serde_json::to_vec_pretty(executor).map_err(|e| crate::checkpoint::CheckpointError {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    crate::checkpoint::write_atomic(&path, &bytes)
}

/// Removes the executor's checkpoint and exit file through the writer.
pub fn remove(writer: &CheckpointWriter, work_dir: &Path, container_id: &str) -> Pending {
    let what = format!("the removal of executor container {container_id}");
    writer.remove_dir(dir(work_dir, container_id), what)
}

/// [`remove`] here and now (at recovery, which runs off the async threads).
fn remove_now(work_dir: &Path, container_id: &str) {
    let path = dir(work_dir, container_id);
    if let Err(e) = std::fs::remove_dir_all(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("cannot remove {}: {e}", path.display());
    }
}

/// The executors an earlier run of this agent checkpointed whose process still runs; the
/// files of those that are gone are removed. Blocks: run it off the async threads.
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

/// Kills an executor left by an earlier run that is not adopted, and forgets it. Blocks:
/// run it off the async threads.
pub fn kill(work_dir: &Path, e: &ExecutorCheckpoint, why: &str) {
    tracing::info!(
        "killing executor {} of framework {} left by an earlier run: {why}",
        e.executor_id,
        e.framework_id
    );
    let _ = processes::signal_group(e.pgid, libc::SIGKILL);
    remove_now(work_dir, &e.container_id);
}
