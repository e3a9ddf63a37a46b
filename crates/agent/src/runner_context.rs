//! What a command task's runner works with, built once when the agent starts: where status
//! updates go, the agent's id (for the task's environment and its updates), its cgroups and
//! checkpoints, the plugins a launch takes, and how processes are started and files fetched.

use std::path::PathBuf;
use std::sync::Arc;

use super::active_plugins::PluginSync;
use super::agent_cgroups::AgentCgroups;
use super::checkpoint_writer::CheckpointWriter;
use super::disk_watch::DiskWatch;
use super::fetcher::FetcherConfig;
use super::identity::AgentIdentity;
use super::log_rotation::LogRotation;
use super::shutdown::Shutdown;
use super::task_store::TaskStore;

#[derive(Clone)]
pub struct RunnerContext {
    /// Status submission, container checkpoints, and the end of the runner.
    pub tasks: Arc<TaskStore>,
    pub identity: Arc<AgentIdentity>,
    pub cgroups: Arc<AgentCgroups>,
    /// The executor, isolators and hooks a launch takes (see `active_plugins.rs`).
    pub plugins: Arc<PluginSync>,
    /// Where the isolator plans of a container are checkpointed.
    pub writer: CheckpointWriter,
    pub work_dir: PathBuf,
    /// The pids limit of every container.
    pub pids_limit: u64,
    /// The `corral` binary that supervises task processes; `None`: direct children.
    pub supervisor: Option<PathBuf>,
    /// Tasks run as their users (`AgentConfig::switch_user`).
    pub switch_user: bool,
    /// Root task processes get their own namespaces (`AgentConfig::root_namespaces`).
    pub root_namespaces: bool,
    pub fetcher: FetcherConfig,
    /// Measures sandboxes and, when enforced, ends tasks past their `disk`.
    pub disk: Arc<DiskWatch>,
    /// How the task's stdout and stderr are rotated (by its supervisor).
    pub logs: LogRotation,
    pub shutdown: Shutdown,
}
