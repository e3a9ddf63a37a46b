//! The agent: registers with the master, runs tasks through the executor plugin, and
//! delivers their status updates reliably.
//!
//! Each part gets the state it uses, built once in [`run`]: the task runners a
//! [`RunnerContext`](runner_context::RunnerContext), the HTTP executors their registry's
//! context, the registration loop, update sender and plugin sync theirs, the HTTP handlers
//! their own states. Files depend downward only: data (`config`, `tasks`, `task_status`,
//! `runner_input`, checkpoints) at the bottom, the shared pieces (`identity`, `master_link`,
//! `agent_cgroups`, `task_store`) above them, then the runners, the loops, the HTTP
//! handlers, and this file on top. No async worker thread makes a blocking call: files,
//! cgroups, plugin calls and process starts go through the checkpoint writer or tokio's
//! blocking pool.

mod active_plugins;
mod agent_cgroups;
mod auth_realms;
mod checkpoint;
mod checkpoint_writer;
mod commands;
mod config;
mod container_checkpoint;
mod container_metrics;
mod containers_api;
mod disk_usage;
/// Disk quota of sandboxes (Mesos' `disk/du`).
pub mod disk_watch;
mod executor_tokens;
/// Fetching `CommandInfo.uris` into sandboxes (issue 6).
pub mod fetcher;
mod files_api;
mod gone;
pub(crate) mod health_checks;
mod http;
mod http_executors;
mod identity;
mod isolators;
mod locks;
/// Rotation of tasks' stdout and stderr (Mesos' `LogrotateContainerLogger`).
pub mod log_rotation;
mod master_link;
mod operator_extras;
mod plugin_fetch;
mod plugin_sync;
mod process_start;
pub(crate) mod processes;
mod prometheus_metrics;
mod recovered_task;
mod recovery;
pub mod registration;
mod resources_detect;
mod run_as;
mod runner_context;
mod runner_input;
mod runners;
mod sandbox_open;
mod shutdown;
mod status_updates;
pub mod supervisor;
mod task_capabilities;
mod task_ending;
mod task_namespace_entry;
pub mod task_namespaces;
mod task_runner;
pub mod task_status;
mod task_store;
mod tasks;
#[cfg(test)]
mod tests;
mod unrecorded_start;
mod update_sender;
mod v0_state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use active_plugins::{BasePlugins, PluginSync};
use agent_cgroups::AgentCgroups;
use checkpoint_writer::CheckpointWriter;
use commands::Commands;
use config::Tuning;
use corral_api::v1::{AgentId, AgentInfo, Resource};
use corral_plugin_host::executor::ExecutorFactory;
use http_executors::api::ExecutorApiState;
use http_executors::context::ExecutorContext;
use http_executors::registry::Registry;
use identity::AgentIdentity;
use master_link::MasterLink;
use recovered_task::RecoveredTaskContext;
use recovery::RecoveryContext;
use runner_context::RunnerContext;
use runners::Runners;
use shutdown::Shutdown;
use status_updates::StatusUpdateManager;
use task_store::TaskStore;

pub use config::DEFAULT_REGISTRATION_TIMEOUT as DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT;
pub use config::{AgentConfig, RecoverMode, RecoveryConfig};
/// The ACL actions an agent enforces (`corral agent --acls`).
pub use files_api::ENFORCED as ENFORCED_ACTIONS;
pub use gone::AgentGone;
pub use run_as::runs_as_root;

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
    #[error("{0}")]
    Flags(String),
}

/// Why a running agent stopped by itself.
#[derive(Debug)]
pub enum AgentEnd {
    /// Its HTTP server ended.
    Stopped,
    /// The master marked it gone: it killed its tasks, removed its cgroups and forgot its id.
    Gone(AgentGone),
}

/// A running agent. Dropping it does not stop it; call `shutdown`.
pub struct AgentHandle {
    pub addr: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
    runners: Arc<Runners>,
    cgroups: Arc<AgentCgroups>,
    writer: CheckpointWriter,
    link: Arc<MasterLink>,
    server: JoinHandle<()>,
    loops: Vec<JoinHandle<()>>,
    /// Shuts the agent down if the master marks it gone (`gone.rs`).
    gone: JoinHandle<AgentGone>,
}

impl AgentHandle {
    /// Resolves when the agent stops (it normally runs until the process ends, or until
    /// the master marks it gone).
    pub async fn wait(self) -> AgentEnd {
        let _ = self.server.await;
        if !self.link.is_gone() {
            self.gone.abort();
            return AgentEnd::Stopped;
        }
        match self.gone.await {
            Ok(gone) => AgentEnd::Gone(gone),
            Err(e) => {
                tracing::error!("the gone agent's shutdown failed: {e}");
                AgentEnd::Stopped
            }
        }
    }

    /// Stops the agent: the HTTP server, the registration loop, the update sender and every
    /// task (their processes are killed and their cgroups removed; pending status updates
    /// stay checkpointed). Then the agent's own cgroups go, if nothing is left in them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.loops {
            let _ = task.await;
        }
        self.runners.join_all().await;
        self.writer.flush().await;
        let cgroups = self.cgroups.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || cgroups.release()).await {
            tracing::error!("removing the agent's cgroups panicked: {e}");
        }
        let _ = self.server.await;
        self.gone.abort();
    }
}

/// Starts the agent's HTTP server and its registration loop with the master.
pub async fn run(
    config: AgentConfig,
    executor: ExecutorFactory,
) -> Result<AgentHandle, AgentError> {
    start(config, executor, Tuning::default()).await
}

/// What the agent reads from its work dir and the machine before it starts.
struct Loaded {
    resources: Vec<Resource>,
    agent_id: Option<AgentId>,
    updates: StatusUpdateManager,
    isolator: corral_cgroups::Isolator,
    /// Signs and checks the executors' tokens.
    signer: corral_http::auth::TokenSigner,
}

/// The client for every call to the master, presenting the agent's credential and client
/// certificate, trusting its `--tls-ca`.
fn master_client(config: &AgentConfig) -> reqwest::ClientBuilder {
    use corral_client::client_tls::{client_builder, with_tls};
    let builder = with_tls(client_builder(), config.master_tls.as_ref());
    corral_client::master_address::with_credential(builder, config.credential.as_ref())
        .connect_timeout(Duration::from_secs(5))
}

/// Reads the agent's state and sets up its isolation. Blocks (files, cgroups, isolator
/// plugins): run it off the async threads.
fn load(config: &AgentConfig, writer: CheckpointWriter) -> Result<Loaded, AgentError> {
    let work_dir_error = |reason: String| AgentError::WorkDir {
        path: config.work_dir.display().to_string(),
        reason,
    };
    config.container_logger.check().map_err(AgentError::Flags)?;
    std::fs::create_dir_all(&config.work_dir).map_err(|e| work_dir_error(e.to_string()))?;
    let detected = resources_detect::detect(&config.work_dir);
    let mut resources = resources_detect::total_resources(&detected, config.resources.as_deref())?;
    // Isolator plugins add what they find (gpus); recovered containers: none yet.
    isolators::discover(&config.isolators, &mut resources, &[]).map_err(AgentError::Isolators)?;
    let agent_id =
        checkpoint::read_agent_id(&config.work_dir).map_err(|e| work_dir_error(e.to_string()))?;
    let updates = StatusUpdateManager::load(&config.work_dir, writer)
        .map_err(|e| work_dir_error(e.to_string()))?;
    let isolator = corral_cgroups::Isolator::start(&config.isolation)?;
    let signer =
        executor_tokens::load_signer(&config.work_dir, config.executor_secret_key.as_deref())?;
    Ok(Loaded {
        resources,
        agent_id,
        updates,
        isolator,
        signer,
    })
}

pub(crate) async fn start(
    config: AgentConfig,
    executor: ExecutorFactory,
    tuning: Tuning,
) -> Result<AgentHandle, AgentError> {
    let writer = CheckpointWriter::start().map_err(|e| AgentError::WorkDir {
        path: config.work_dir.display().to_string(),
        reason: format!("cannot start the checkpoint writer: {e}"),
    })?;
    let attributes = match config.attributes.as_deref() {
        Some(text) => corral_api::resources::parse_attributes(text)?,
        None => Vec::new(),
    };
    let (for_load, load_writer) = (config.clone(), writer.clone());
    let loaded = tokio::task::spawn_blocking(move || load(&for_load, load_writer))
        .await
        .map_err(|e| AgentError::WorkDir {
            path: config.work_dir.display().to_string(),
            reason: format!("loading the agent's state panicked: {e}"),
        })??;

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
    let http = master_client(&config)
        .build()
        .map_err(|e| AgentError::Listen {
            addr,
            reason: format!("cannot build the HTTP client: {e}"),
        })?;

    let (stop, stop_rx) = watch::channel(false);
    let stop = Arc::new(stop);
    let shutdown = Shutdown::new(stop_rx);
    let info = AgentInfo {
        hostname: config.hostname.clone(),
        port: Some(u32::from(addr.port())),
        resources: loaded.resources.clone(),
        attributes,
        id: None,
    };
    tracing::info!(
        "agent on {addr}, work dir {}, resources {}",
        config.work_dir.display(),
        corral_api::resources::Resources::from_list(&info.resources).summary()
    );
    tracing::info!("isolation: {}", loaded.isolator.describe());

    let parts = Parts::build(&config, executor, writer, shutdown, info, loaded, http);
    // Cgroups that agents no longer running left behind go (this agent's id is claimed
    // first, so that other agents' sweeps leave its own alone).
    let cgroups = parts.cgroups.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || cgroups.sweep_others()).await {
        tracing::error!("sweeping other agents' cgroups panicked: {e}");
    }
    // Before registering: the subscription reports the recovered tasks.
    recovery::recover(&parts.recovery(&config)).await;

    let router = http::router(parts.http_state(&config));
    let auth = config
        .auth
        .clone()
        .with_signer(parts.executors.signer())
        .for_server(auth_realms::classify);
    let tls = config.tls.clone();
    let mut server_stop = parts.shutdown.clone();
    let server = tokio::spawn(async move {
        let stopped = async move { server_stop.stopped().await };
        corral_http::serve(listener, tls.as_ref(), router, auth, stopped, "agent").await;
    });
    let loops = vec![
        tokio::spawn(registration::run(parts.registration(&config, tuning))),
        tokio::spawn(update_sender::run(parts.update_sender(&config))),
        tokio::spawn(plugin_sync::run(parts.plugin_sync(&config))),
    ];
    let gone = tokio::spawn(gone::shut_down_when_gone(parts.gone(&config, stop.clone())));
    Ok(AgentHandle {
        addr,
        stop,
        runners: parts.runners,
        cgroups: parts.cgroups,
        writer: parts.writer,
        link: parts.link,
        server,
        loops,
        gone,
    })
}

/// The agent's shared pieces, from which each part's context is cut.
struct Parts {
    info: AgentInfo,
    identity: Arc<AgentIdentity>,
    link: Arc<MasterLink>,
    cgroups: Arc<AgentCgroups>,
    updates: Arc<StatusUpdateManager>,
    tasks: Arc<TaskStore>,
    plugins: Arc<PluginSync>,
    executors: Arc<Registry>,
    runners: Arc<Runners>,
    writer: CheckpointWriter,
    shutdown: Shutdown,
    disk: Arc<disk_watch::DiskWatch>,
}

impl Parts {
    fn build(
        config: &AgentConfig,
        executor: ExecutorFactory,
        writer: CheckpointWriter,
        shutdown: Shutdown,
        info: AgentInfo,
        loaded: Loaded,
        http: reqwest::Client,
    ) -> Parts {
        let work_dir = config.work_dir.clone();
        let identity = Arc::new(AgentIdentity::new(
            loaded.agent_id,
            work_dir.clone(),
            writer.clone(),
        ));
        let first_master = registration::masters(&config.master)[0].clone();
        let scheme = registration::scheme(&config.master);
        let link = Arc::new(MasterLink::new(http, scheme, first_master));
        let cgroups = Arc::new(AgentCgroups::new(loaded.isolator, identity.clone()));
        let updates = Arc::new(loaded.updates);
        let tasks = Arc::new(TaskStore::new(
            updates.clone(),
            cgroups.clone(),
            work_dir.clone(),
            writer.clone(),
            shutdown.clone(),
        ));
        let base = BasePlugins {
            executor,
            executor_name: config.executor.clone(),
            hooks: config.hooks.clone(),
            isolators: config.isolators.clone(),
        };
        let plugins = Arc::new(PluginSync::new(base, config.plugin_engine.clone()));
        let runners = Arc::new(Runners::default());
        let executors = Arc::new(Registry::new(ExecutorContext {
            tasks: tasks.clone(),
            identity: identity.clone(),
            cgroups: cgroups.clone(),
            writer: writer.clone(),
            runners: runners.clone(),
            info: info.clone(),
            listen: config.listen,
            work_dir,
            pids_limit: config.isolation.pids_limit,
            supervisor: config.recovery.supervisor.clone(),
            switch_user: config.switch_user,
            root_namespaces: config.root_namespaces,
            logs: config.container_logger,
            isolators: config.isolators.clone(),
            registration_timeout: config.executor_registration_timeout,
            reregistration_timeout: config.recovery.executor_reregistration_timeout,
            shutdown: shutdown.clone(),
            signer: loaded.signer,
        }));
        Parts {
            info,
            identity,
            link,
            cgroups,
            updates,
            tasks,
            plugins,
            executors,
            runners,
            writer,
            shutdown,
            disk: disk_watch::DiskWatch::new(config.disk_quota),
        }
    }

    fn runner(&self, config: &AgentConfig) -> RunnerContext {
        RunnerContext {
            tasks: self.tasks.clone(),
            identity: self.identity.clone(),
            cgroups: self.cgroups.clone(),
            plugins: self.plugins.clone(),
            writer: self.writer.clone(),
            work_dir: config.work_dir.clone(),
            pids_limit: config.isolation.pids_limit,
            supervisor: config.recovery.supervisor.clone(),
            switch_user: config.switch_user,
            root_namespaces: config.root_namespaces,
            fetcher: config.fetcher,
            disk: self.disk.clone(),
            logs: config.container_logger,
            shutdown: self.shutdown.clone(),
        }
    }

    fn recovery(&self, config: &AgentConfig) -> RecoveryContext {
        RecoveryContext {
            tasks: self.tasks.clone(),
            identity: self.identity.clone(),
            cgroups: self.cgroups.clone(),
            executors: self.executors.clone(),
            runners: self.runners.clone(),
            recovered: RecoveredTaskContext {
                tasks: self.tasks.clone(),
                identity: self.identity.clone(),
                work_dir: config.work_dir.clone(),
                disk: self.disk.clone(),
                shutdown: self.shutdown.clone(),
            },
            work_dir: config.work_dir.clone(),
            mode: config.recovery.mode,
            isolators: config.isolators.clone(),
            switch_user: config.switch_user,
        }
    }

    fn http_state(&self, config: &AgentConfig) -> http::HttpState {
        let (work_dir, listen) = (config.work_dir.as_path(), config.listen);
        let sandbox_root = files_api::sandbox_root(work_dir);
        http::HttpState {
            view: http::AgentView {
                info: self.info.clone(),
                identity: self.identity.clone(),
                link: self.link.clone(),
                tasks: self.tasks.clone(),
                updates: self.updates.clone(),
                sandbox_root: sandbox_root.clone(),
                work_dir: work_dir.to_path_buf(),
                listen,
            },
            files: files_api::FilesState {
                tasks: self.tasks.clone(),
                sandbox_root,
                authorizer: config
                    .authorizer
                    .clone()
                    .unwrap_or_else(|| Arc::new(corral_authz::AllowAll)),
            },
            containers: containers_api::ContainersState {
                tasks: self.tasks.clone(),
                executors: self.executors.clone(),
                cgroups: self.cgroups.clone(),
                isolators: self.executors.context().isolators.clone(),
                disk: self.disk.clone(),
            },
            executor_api: ExecutorApiState {
                registry: self.executors.clone(),
                link: self.link.clone(),
                identity: self.identity.clone(),
            },
        }
    }

    fn gone(&self, config: &AgentConfig, stop: Arc<watch::Sender<bool>>) -> gone::GoneContext {
        gone::GoneContext {
            link: self.link.clone(),
            identity: self.identity.clone(),
            tasks: self.tasks.clone(),
            runners: self.runners.clone(),
            cgroups: self.cgroups.clone(),
            writer: self.writer.clone(),
            stop,
            work_dir: config.work_dir.clone(),
        }
    }

    fn update_sender(&self, config: &AgentConfig) -> update_sender::UpdateSenderContext {
        update_sender::UpdateSenderContext {
            updates: self.updates.clone(),
            link: self.link.clone(),
            identity: self.identity.clone(),
            retry: config.status_update_retry,
            shutdown: self.shutdown.clone(),
        }
    }

    fn plugin_sync(&self, config: &AgentConfig) -> plugin_sync::PluginSyncContext {
        plugin_sync::PluginSyncContext {
            sync: self.plugins.clone(),
            link: self.link.clone(),
            identity: self.identity.clone(),
            work_dir: config.work_dir.clone(),
            discovery_root: config.isolators.discovery_root.clone(),
            shutdown: self.shutdown.clone(),
        }
    }

    fn registration(
        &self,
        config: &AgentConfig,
        tuning: Tuning,
    ) -> registration::RegistrationContext {
        registration::RegistrationContext {
            link: self.link.clone(),
            identity: self.identity.clone(),
            masters: config.master.clone(),
            etcd_tls: config.master_etcd_tls.clone(),
            info: self.info.clone(),
            tasks: self.tasks.clone(),
            updates: self.updates.clone(),
            cgroups: self.cgroups.clone(),
            commands: Commands {
                tasks: self.tasks.clone(),
                identity: self.identity.clone(),
                executors: self.executors.clone(),
                plugins: self.plugins.clone(),
                runners: self.runners.clone(),
                runner: self.runner(config),
                work_dir: config.work_dir.clone(),
            },
            stream_silence: tuning.stream_silence,
            scheme: if config.tls.is_some() {
                corral_api::agent_protocol::AgentScheme::Https
            } else {
                corral_api::agent_protocol::AgentScheme::Http
            },
            shutdown: self.shutdown.clone(),
        }
    }
}
