//! The agent: registers with the master, runs tasks through the executor plugin, and
//! delivers their status updates reliably.

mod checkpoint;
mod container_checkpoint;
mod containers_api;
/// Fetching `CommandInfo.uris` into sandboxes (issue 6).
pub mod fetcher;
mod files_api;
pub(crate) mod health_checks;
mod http;
mod http_executors;
mod isolators;
mod operator_extras;
mod plugin_fetch;
mod plugin_sync;
pub(crate) mod processes;
mod recovered_task;
mod recovery;
pub mod registration;
mod resources_detect;
mod shared;
mod status_updates;
pub mod supervisor;
mod task_runner;
mod tasks;
#[cfg(test)]
mod tests;
mod update_sender;
mod v0_state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// "host:port" of the master, or several comma-separated (HA: the leader is followed).
    pub master: String,
    pub listen: SocketAddr,
    pub hostname: String,
    pub work_dir: PathBuf,
    /// `--resources` text; detected from the machine when absent.
    pub resources: Option<String>,
    /// `--attributes` text.
    pub attributes: Option<String>,
    /// A built-in executor name ("command") or a path to a `.wasm` component.
    pub executor: String,
    /// How long to wait for an acknowledgement before resending a status update.
    pub status_update_retry: Duration,
    /// cgroups or posix, and the cgroup parent and pids limit.
    pub isolation: corral_cgroups::IsolationConfig,
    /// Hooks run at `on-run` and `on-status` (empty: none).
    pub hooks: corral_plugin_host::hook_chain::HookChain,
    /// Isolator plugins (`--isolator`), asked for resources at start and for a launch plan
    /// before each task.
    pub isolators: corral_plugin_host::isolator::IsolatorSet,
    /// `--recover` and the binary that supervises tasks.
    pub recovery: RecoveryConfig,
    /// How long an HTTP executor may take to subscribe before it is killed and its tasks
    /// fail (Mesos' `--executor_registration_timeout`).
    pub executor_registration_timeout: Duration,
    /// The engine (and signature trust policy) that loads plugins activated on the master;
    /// `None`: a default engine, made when the first one arrives.
    pub plugin_engine: Option<corral_plugin_host::PluginEngine>,
    /// The fetcher's size cap on a task's URIs.
    pub fetcher: fetcher::FetcherConfig,
}

pub use recovery::RecoverMode;

/// How tasks survive an agent restart.
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    pub mode: RecoverMode,
    /// The `corral` binary whose hidden `supervise` command runs each task, so that its exit
    /// status survives the agent. `None` runs tasks as the agent's direct children (the
    /// in-process tests): they are still reattached after a restart, but an exit while the
    /// agent is down is reported without its exit code.
    pub supervisor: Option<PathBuf>,
    /// How long a restarted agent waits for the HTTP executors it found running to
    /// subscribe again before it kills them (Mesos' `--executor_reregistration_timeout`).
    pub executor_reregistration_timeout: Duration,
}

impl Default for RecoveryConfig {
    fn default() -> RecoveryConfig {
        RecoveryConfig {
            mode: RecoverMode::default(),
            supervisor: None,
            executor_reregistration_timeout: http_executors::DEFAULT_REREGISTRATION_TIMEOUT,
        }
    }
}

impl RecoveryConfig {
    /// Tasks supervised by this very binary.
    pub fn supervised_by_this_binary(mode: RecoverMode) -> RecoveryConfig {
        RecoveryConfig {
            mode,
            supervisor: std::env::current_exe().ok(),
            ..RecoveryConfig::default()
        }
    }
}

use corral_api::v1::AgentInfo;
use corral_plugin_host::executor::ExecutorFactory;
pub use http_executors::DEFAULT_REGISTRATION_TIMEOUT as DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT;
use shared::AgentShared;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("work dir {path}: {reason}")]
    WorkDir { path: String, reason: String },
    #[error("bad --resources or --attributes: {0}")]
    Resources(#[from] corral_api::resources::ParseError),
    #[error(transparent)]
    Isolation(#[from] corral_cgroups::IsolationError),
    #[error("isolator plugins at start: {0}")]
    Isolators(String),
}

/// A running agent. Dropping it does not stop it; call `shutdown`.
pub struct AgentHandle {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    shared: Arc<AgentShared>,
    server: JoinHandle<()>,
    loops: Vec<JoinHandle<()>>,
}

impl AgentHandle {
    /// Resolves when the agent stops (it normally runs until the process ends).
    pub async fn wait(self) {
        let _ = self.server.await;
    }

    /// Stops the agent: the HTTP server, the registration loop, the update sender and every
    /// task (their processes are killed; pending status updates stay checkpointed).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.loops {
            let _ = task.await;
        }
        let mut runners = std::mem::take(&mut *lock(&self.shared.runners));
        while runners.join_next().await.is_some() {}
        self.shared.isolator.release(&self.shared.cgroup_name());
        let _ = self.server.await;
    }
}

/// Starts the agent's HTTP server and its registration loop with the master.
pub async fn run(
    config: AgentConfig,
    executor: ExecutorFactory,
) -> Result<AgentHandle, AgentError> {
    start(config, executor, Tuning::default()).await
}

/// Timings that production takes from the protocol and tests shorten.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// A stream silent this long is taken as broken.
    pub stream_silence: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            stream_silence: Duration::from_secs(3 * corral_api::agent_protocol::PING_INTERVAL_SECS),
        }
    }
}

pub(crate) async fn start(
    config: AgentConfig,
    executor: ExecutorFactory,
    tuning: Tuning,
) -> Result<AgentHandle, AgentError> {
    let work_dir_error = |reason: String| AgentError::WorkDir {
        path: config.work_dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(&config.work_dir).map_err(|e| work_dir_error(e.to_string()))?;
    let detected = resources_detect::detect(&config.work_dir);
    let mut resources = resources_detect::total_resources(&detected, config.resources.as_deref())?;
    // Isolator plugins add what they find (gpus); recovered containers: none yet.
    isolators::discover(&config.isolators, &mut resources, &[]).map_err(AgentError::Isolators)?;
    let attributes = match config.attributes.as_deref() {
        Some(text) => corral_api::resources::parse_attributes(text)?,
        None => Vec::new(),
    };
    let agent_id =
        checkpoint::read_agent_id(&config.work_dir).map_err(|e| work_dir_error(e.to_string()))?;
    let updates = status_updates::StatusUpdateManager::load(&config.work_dir)
        .map_err(|e| work_dir_error(e.to_string()))?;

    let isolator = corral_cgroups::Isolator::start(&config.isolation)?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| AgentError::Listen {
            addr: config.listen,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| AgentError::Listen {
        addr: config.listen,
        reason: e.to_string(),
    })?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| AgentError::Listen {
            addr,
            reason: format!("cannot build the HTTP client: {e}"),
        })?;

    let (stop, stop_rx) = watch::channel(false);
    let info = AgentInfo {
        hostname: config.hostname.clone(),
        port: Some(u32::from(addr.port())),
        resources,
        attributes,
        id: None,
    };
    tracing::info!(
        "agent on {addr}, work dir {}, resources {}",
        config.work_dir.display(),
        corral_api::resources::Resources::from_list(&info.resources).summary()
    );
    tracing::info!("isolation: {}", isolator.describe());
    let shared = Arc::new(AgentShared {
        info,
        agent_id: Mutex::new(agent_id),
        tasks: Mutex::new(tasks::TaskTable::default()),
        updates,
        executor,
        http,
        master_now: Mutex::new(registration::masters(&config.master)[0].clone()),
        config,
        registered: AtomicBool::new(false),
        updates_changed: Notify::new(),
        shutdown: stop_rx.clone(),
        runners: Mutex::new(tokio::task::JoinSet::new()),
        tuning,
        isolator,
        http_executors: http_executors::Registry::default(),
        plugin_sync: Default::default(),
        fallback_engine: Default::default(),
    });

    // Before registering: the subscription reports the recovered tasks.
    recovery::recover(&shared).await;

    let router = http::router(shared.clone());
    let mut server_stop = stop_rx;
    let server = tokio::spawn(async move {
        let stopped = async move { stopped(&mut server_stop).await };
        corral_http::serve(listener, router, stopped, "agent").await;
    });
    let loops = vec![
        tokio::spawn(registration::run(shared.clone())),
        tokio::spawn(update_sender::run(shared.clone())),
        tokio::spawn(plugin_sync::run(shared.clone())),
    ];
    Ok(AgentHandle {
        addr,
        stop,
        shared,
        server,
        loops,
    })
}

/// Locks a mutex; a panic elsewhere while it was held does not stop the agent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Resolves once the agent is told to stop. A dropped handle never stops it.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it before the caller goes on.
    let told = shutdown.wait_for(|stop| *stop).await.map(|_| ()).is_ok();
    if !told {
        std::future::pending::<()>().await;
    }
}
