//! What the HTTP executors' registry works with, built once when the agent starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::agent_cgroups::AgentCgroups;
use crate::checkpoint_writer::CheckpointWriter;
use crate::identity::AgentIdentity;
use crate::runners::Runners;
use crate::shutdown::Shutdown;
use crate::task_store::TaskStore;
use corral_api::v1::AgentInfo;
use corral_plugin_host::isolator::IsolatorSet;

pub struct ExecutorContext {
    /// Where the executors' tasks' statuses go, and their containers' checkpoints.
    pub tasks: Arc<TaskStore>,
    pub identity: Arc<AgentIdentity>,
    pub cgroups: Arc<AgentCgroups>,
    /// Where each executor's checkpoint is written.
    pub writer: CheckpointWriter,
    /// Where the executors' exit watchers run, so a clean stop waits for them.
    pub runners: Arc<Runners>,
    /// hostname, port, resources and attributes (SUBSCRIBED carries them).
    pub info: AgentInfo,
    /// The address the agent listens on (an executor's `MESOS_AGENT_ENDPOINT`).
    pub listen: SocketAddr,
    pub work_dir: PathBuf,
    /// The pids limit of every container.
    pub pids_limit: u64,
    /// The `corral` binary that supervises executors; `None`: direct children.
    pub supervisor: Option<PathBuf>,
    /// Executors run as their users (`AgentConfig::switch_user`).
    pub switch_user: bool,
    /// Root executors get their own namespaces (`AgentConfig::root_namespaces`).
    pub root_namespaces: bool,
    /// How an executor's stdout and stderr are rotated (by its supervisor).
    pub logs: crate::log_rotation::LogRotation,
    /// The isolator plugins the command line gives.
    pub isolators: IsolatorSet,
    /// `--executor-registration-timeout` and `--executor-reregistration-timeout`.
    pub registration_timeout: Duration,
    pub reregistration_timeout: Duration,
    pub shutdown: Shutdown,
    /// Signs each executor's token (`MESOS_EXECUTOR_AUTHENTICATION_TOKEN`).
    pub signer: corral_http::auth::TokenSigner,
}
