//! Starting one process of a task (or an HTTP executor) off the async threads: under
//! `corral supervise` when the agent has the binary (so its exit status survives an agent
//! crash), else as the agent's direct child. Forking, joining the cgroups and the exec run
//! on tokio's blocking pool; the supervisor's answer is awaited on its pipe.

use std::path::PathBuf;

use super::log_rotation::LogRotation;
use super::processes::{self, TaskEnvironment};
use super::supervisor;
use corral_api::v1::CommandInfo;
use corral_cgroups::JoinFiles;

/// What to start, and where.
pub struct ProcessSpec {
    /// The `corral` binary whose `supervise` runs the process; `None`: a direct child.
    pub supervisor: Option<PathBuf>,
    /// Where the supervisor records how the process ended.
    pub exit_file: PathBuf,
    pub command: CommandInfo,
    pub sandbox: PathBuf,
    pub env: TaskEnvironment,
    /// The `cgroup.procs` files the process joins before it execs.
    pub join: Option<JoinFiles>,
    /// The user the process runs as (`run_as.rs`); `None`: the agent's.
    pub user: Option<String>,
    /// A process that runs as root gets its own namespaces (supervised processes only).
    pub root_namespaces: bool,
    /// How the supervisor rotates its stdout and stderr. A direct child writes to the files
    /// without rotation (only the in-process tests run tasks so).
    pub logs: LogRotation,
}

/// A started process.
#[derive(Debug)]
pub struct Started {
    /// The agent's child: the supervisor, or the process itself.
    pub child: tokio::process::Child,
    /// The process's group (its pid), to signal.
    pub pgid: u32,
    /// The child's pid and start time, to find it again after an agent restart (`None`
    /// when it is already gone).
    pub supervisor_pid: u32,
    pub supervisor_start: Option<u64>,
    /// Where the supervisor records the exit; `None` for a direct child.
    pub exit_file: Option<PathBuf>,
}

pub async fn start(spec: ProcessSpec) -> Result<Started, String> {
    let ProcessSpec {
        supervisor,
        exit_file,
        command,
        sandbox,
        env,
        join,
        user,
        root_namespaces,
        logs,
    } = spec;
    let Some(binary) = supervisor else {
        return off_runtime(move || {
            let (child, pid) =
                processes::spawn(&command, &sandbox, &env, join.as_ref(), user.as_deref())?;
            Ok(Started {
                child,
                pgid: pid,
                supervisor_pid: pid,
                supervisor_start: supervisor::start_time(pid),
                exit_file: None,
            })
        })
        .await;
    };
    let record = exit_file.clone();
    let (starting, supervisor_start) = off_runtime(move || {
        let starting = supervisor::start(
            &binary,
            &record,
            &command,
            &sandbox,
            &env,
            join.as_ref(),
            supervisor::Confinement {
                user: user.as_deref(),
                root_namespaces,
                logs,
            },
        )?;
        let started_at = supervisor::start_time(starting.supervisor_pid());
        Ok((starting, started_at))
    })
    .await?;
    let supervised = supervisor::handshake(starting).await?;
    Ok(Started {
        child: supervised.child,
        pgid: supervised.pgid,
        supervisor_pid: supervised.supervisor_pid,
        supervisor_start,
        exit_file: Some(exit_file),
    })
}

async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("starting the process panicked: {e}")))
}
