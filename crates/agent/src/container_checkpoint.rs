//! What the agent checkpoints per container, so a restarted agent can find its tasks:
//! `<work_dir>/meta/containers/<container id>/container.json` (written atomically on every
//! change) next to the supervisors' exit files `exit-<process id>`. The directory is removed
//! once the task's terminal update is acknowledged (or its framework is forgotten). The whole
//! TaskInfo is kept, its health check included, so a recovered task is checked again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointError, path_component};
use corral_api::v1::{FrameworkInfo, TaskInfo, TaskState};

/// The task's supervised process (the first one its executor started: the command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessCheckpoint {
    /// The executor plugin's id for the process (names its exit file).
    pub id: u32,
    pub supervisor_pid: u32,
    /// The supervisor's start time in clock ticks since boot: tells it from a reused pid.
    pub supervisor_start: u64,
    /// The command's process group (its pid).
    pub pgid: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerCheckpoint {
    pub framework: FrameworkInfo,
    pub task: TaskInfo,
    pub container_id: String,
    pub sandbox: PathBuf,
    /// The agent's cgroup name the container's cgroups live under; `None` without cgroups.
    #[serde(default)]
    pub cgroup_parent: Option<String>,
    #[serde(default)]
    pub process: Option<ProcessCheckpoint>,
    /// The last state the agent recorded for the task.
    pub state: TaskState,
    /// Whether the task was asked to be killed (so an exit while the agent was down is
    /// TASK_KILLED, not TASK_FAILED).
    #[serde(default)]
    pub kill_requested: bool,
}

pub fn containers_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("meta").join("containers")
}

pub fn container_dir(work_dir: &Path, container_id: &str) -> PathBuf {
    containers_dir(work_dir).join(path_component(container_id))
}

/// Where the supervisor of process `id` records how it ended.
pub fn exit_file(work_dir: &Path, container_id: &str, id: u32) -> PathBuf {
    container_dir(work_dir, container_id).join(format!("exit-{id}"))
}

/// Where the container's checkpoint goes, and its content.
pub fn encode(
    work_dir: &Path,
    checkpoint: &ContainerCheckpoint,
) -> Result<(PathBuf, Vec<u8>), CheckpointError> {
    let path = container_dir(work_dir, &checkpoint.container_id).join("container.json");
    let json = serde_json::to_vec_pretty(checkpoint).map_err(|e| CheckpointError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok((path, json))
}

/// Writes the container's checkpoint here and now (tests; the agent writes through its
/// checkpoint writer).
#[cfg(test)]
pub fn save(work_dir: &Path, checkpoint: &ContainerCheckpoint) -> Result<(), CheckpointError> {
    let (path, json) = encode(work_dir, checkpoint)?;
    super::checkpoint::write_atomic(&path, &json)
}

/// The environment one isolator plugin's launch plan gave a container, checkpointed so the
/// plugin can rebuild its bookkeeping (the gpu plugin's GPUs) after an agent restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationCheckpoint {
    pub plugin: String,
    pub environment: Vec<(String, String)>,
}

fn isolation_file(work_dir: &Path, container_id: &str) -> PathBuf {
    container_dir(work_dir, container_id).join("isolation.json")
}

/// Where the isolator plans of a container go, and their content.
pub fn encode_isolation(
    work_dir: &Path,
    container_id: &str,
    plans: &[IsolationCheckpoint],
) -> Result<(PathBuf, Vec<u8>), CheckpointError> {
    let path = isolation_file(work_dir, container_id);
    let json = serde_json::to_vec_pretty(plans).map_err(|e| CheckpointError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok((path, json))
}

/// Records what the isolator plugins gave a container, here and now (tests; the agent
/// writes through its checkpoint writer).
#[cfg(test)]
pub fn save_isolation(
    work_dir: &Path,
    container_id: &str,
    plans: &[IsolationCheckpoint],
) -> Result<(), CheckpointError> {
    let (path, json) = encode_isolation(work_dir, container_id, plans)?;
    super::checkpoint::write_atomic(&path, &json)
}

/// What the isolator plugins gave a container; none if nothing was recorded (no isolators,
/// or the agent died before the plans were applied). Reads a file: call it off the async
/// threads.
pub fn load_isolation(
    work_dir: &Path,
    container_id: &str,
) -> Result<Vec<IsolationCheckpoint>, CheckpointError> {
    let path = isolation_file(work_dir, container_id);
    let error = |reason: String| CheckpointError {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| error(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(error(e.to_string())),
    }
}

/// Removes a container's checkpoint and exit files here and now (at recovery, which runs
/// off the async threads; the agent otherwise removes them through its checkpoint writer).
pub fn remove(work_dir: &Path, container_id: &str) {
    let dir = container_dir(work_dir, container_id);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot remove {}: {e}", dir.display()),
    }
}

/// Every checkpointed container (reads files: call it off the async threads). One that
/// cannot be read is returned as an error (with its path) and left on disk for an operator.
pub fn load_all(work_dir: &Path) -> Vec<Result<ContainerCheckpoint, CheckpointError>> {
    let dir = containers_dir(work_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            return vec![Err(CheckpointError {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })];
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let path = dir.join("container.json");
            let error = |reason: String| CheckpointError {
                path: path.display().to_string(),
                reason,
            };
            let bytes = std::fs::read(&path).map_err(|e| error(e.to_string()))?;
            serde_json::from_slice(&bytes).map_err(|e| error(e.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::v1::{FrameworkId, HealthCheck, TaskId, TcpCheckInfo};

    fn sample(container_id: &str) -> ContainerCheckpoint {
        ContainerCheckpoint {
            framework: FrameworkInfo {
                id: Some(FrameworkId::new("fw")),
                name: "fw".into(),
                ..Default::default()
            },
            task: TaskInfo {
                task_id: TaskId::new("t1"),
                name: "t1".into(),
                // Recovery checks the task again with it (see recovered_task.rs).
                health_check: Some(HealthCheck {
                    kind: Some("TCP".into()),
                    grace_period_seconds: Some(30.0),
                    tcp: Some(TcpCheckInfo { port: 8080 }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            container_id: container_id.into(),
            sandbox: PathBuf::from("/tmp/sandbox"),
            cgroup_parent: Some("agent-1".into()),
            process: Some(ProcessCheckpoint {
                id: 1,
                supervisor_pid: 42,
                supervisor_start: 1000,
                pgid: 43,
            }),
            state: TaskState::TaskRunning,
            kill_requested: false,
        }
    }

    #[test]
    fn checkpoints_round_trip_and_are_removed_with_their_exit_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = sample("c-a");
        let mut b = sample("c-b");
        b.process = None;
        b.kill_requested = true;
        save(dir.path(), &a).expect("saved");
        save(dir.path(), &b).expect("saved");
        std::fs::write(exit_file(dir.path(), "c-a", 1), "{}").expect("exit file");
        let loaded: Vec<_> = load_all(dir.path())
            .into_iter()
            .map(|c| c.expect("readable"))
            .collect();
        assert_eq!(loaded, vec![a, b]);
        remove(dir.path(), "c-a");
        assert!(!container_dir(dir.path(), "c-a").exists());
        assert_eq!(load_all(dir.path()).len(), 1);
    }

    #[test]
    fn a_corrupt_checkpoint_is_an_error_and_stays_on_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = container_dir(dir.path(), "c-x").join("container.json");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, "{not json").expect("written");
        let loaded = load_all(dir.path());
        assert_eq!(loaded.len(), 1);
        let err = loaded
            .into_iter()
            .next()
            .expect("one")
            .expect_err("corrupt");
        assert!(err.path.ends_with("container.json"), "{err}");
        assert!(path.exists());
    }

    #[test]
    fn isolation_plans_round_trip_and_default_to_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(load_isolation(dir.path(), "c-a").expect("none").is_empty());
        let plans = vec![IsolationCheckpoint {
            plugin: "gpu".into(),
            environment: vec![("CORRAL_GPU_MINORS".into(), "0,1".into())],
        }];
        save_isolation(dir.path(), "c-a", &plans).expect("saved");
        assert_eq!(load_isolation(dir.path(), "c-a").expect("read"), plans);
        std::fs::write(isolation_file(dir.path(), "c-a"), "[").expect("corrupt");
        assert!(load_isolation(dir.path(), "c-a").is_err());
    }

    #[test]
    fn no_containers_dir_means_no_containers() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(load_all(dir.path()).is_empty());
    }
}
