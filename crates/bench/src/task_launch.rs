//! A whole task launch, for the plugin benchmark to compare against: a master and an agent
//! in this process (real HTTP on 127.0.0.1, the built-in `drf` allocator and `command`
//! executor), and a scheduler that launches one `true` task at a time. Each launch is timed
//! from the ACCEPT call to the TASK_RUNNING update reaching the scheduler.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_agent::{AgentConfig, RecoveryConfig};
use corral_api::resources::parse_resources;
use corral_api::scheduler::{EventType, Launch, Operation, OperationType};
use corral_api::v1::{CommandInfo, FrameworkInfo, Id, Offer, TaskInfo, TaskState, TaskStatus};
use corral_cgroups::IsolationConfig;
use corral_client::client_error::ClientError;
use corral_client::master_address::MasterAddress;
use corral_client::scheduler_client::SchedulerClient;
use corral_master::{MasterConfig, StateSpec};
use corral_plugin_host::{PluginEngine, PluginError, PluginLimits};

/// Every task's resources.
const TASK_RESOURCES: &str = "cpus:0.1;mem:32";
/// The longest one launch (and the wait for its end) may take before the run is abandoned.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum LaunchBenchError {
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("cannot start the {what}: {reason}")]
    Start { what: &'static str, reason: String },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("task {task}: {detail}")]
    Task { task: String, detail: String },
    #[error("no launch finished within {0:?}")]
    Timeout(Duration),
}

/// How the agent runs tasks.
#[derive(Debug, Clone)]
pub struct LaunchSetup {
    pub work_dir: PathBuf,
    pub isolation: IsolationConfig,
    /// Run each task under this binary's `supervise` command, as `corral agent` does (the
    /// in-process tests cannot: their binary is the test harness).
    pub supervised: bool,
}

impl LaunchSetup {
    /// A work dir named `name` and the process id under the system's temp dir (the caller
    /// removes it), tasks isolated by `mode` under the `corral-bench` cgroup.
    pub fn in_temp(name: &str, mode: corral_cgroups::IsolationMode, supervised: bool) -> Self {
        LaunchSetup {
            work_dir: std::env::temp_dir().join(format!("{name}-{}", std::process::id())),
            isolation: IsolationConfig {
                mode,
                cgroup_root: PathBuf::from("corral-bench"),
                ..IsolationConfig::default()
            },
            supervised,
        }
    }
}

/// Who the master lets in, and the credentials its agent and framework present (all open by
/// default).
#[derive(Debug, Clone, Default)]
pub struct LaunchSecurity {
    pub auth: corral_http::auth::AuthConfig,
    pub authorizer: Option<Arc<dyn corral_authz::Authorizer>>,
    pub agent_credential: Option<corral_http::auth::Credential>,
    pub framework_credential: Option<corral_http::auth::Credential>,
}

/// The time to TASK_RUNNING of `tasks` launches, one after another, in launch order.
pub async fn launch_times(
    setup: &LaunchSetup,
    security: &LaunchSecurity,
    tasks: usize,
) -> Result<Vec<Duration>, LaunchBenchError> {
    let patience = LAUNCH_TIMEOUT * tasks.max(1) as u32;
    with_cluster(setup, security, patience, |address| async move {
        schedule(&address, tasks).await
    })
    .await
}

/// Starts the master and agent of [`launch_times`], runs `work` against the master (with
/// the framework's credential) for at most `patience`, and stops them.
pub async fn with_cluster<F, Fut, T>(
    setup: &LaunchSetup,
    security: &LaunchSecurity,
    patience: Duration,
    work: F,
) -> Result<T, LaunchBenchError>
where
    F: FnOnce(MasterAddress) -> Fut,
    Fut: std::future::Future<Output = Result<T, LaunchBenchError>>,
{
    let engine = PluginEngine::new()?;
    let limits = PluginLimits {
        call_deadline: Duration::from_secs(10),
        memory_bytes: 64 << 20,
    };
    let allocator = engine.allocator_factory("drf", "", limits)?;
    let executor = engine.executor_factory("command", limits)?;
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    let master_config = MasterConfig {
        listen: loopback,
        hostname: "localhost".into(),
        state: StateSpec::Memory,
        allocator: "drf".into(),
        allocation_interval: Duration::from_millis(20),
        heartbeat_interval: Duration::from_secs(15),
        hooks: Default::default(),
        upstreams: Default::default(),
        auth: security.auth.clone(),
        authorizer_cache_ttl: std::time::Duration::from_secs(10),
        authorizer: security.authorizer.clone(),
        plugin_capabilities: Default::default(),
        tls: None,
        agent_tls: None,
    };
    let store = Arc::new(corral_state::MemoryStore::new());
    let master = corral_master::run(master_config, allocator, store)
        .await
        .map_err(|e| start_error("master", e))?;
    let recovery = if setup.supervised {
        RecoveryConfig::supervised_by_this_binary(Default::default())
    } else {
        RecoveryConfig::default()
    };
    let agent_config = AgentConfig {
        master: master.addr.to_string(),
        listen: loopback,
        hostname: "localhost".into(),
        work_dir: setup.work_dir.clone(),
        resources: Some("cpus:4;mem:4096;disk:4096".into()),
        attributes: None,
        executor: "command".into(),
        status_update_retry: Duration::from_secs(10),
        isolation: setup.isolation.clone(),
        hooks: Default::default(),
        isolators: Default::default(),
        recovery,
        executor_registration_timeout: corral_agent::DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT,
        // The benchmark's tasks run as the agent (their framework names no user to switch to).
        switch_user: false,
        // As `corral agent` runs them: a root task under the supervisor gets its namespaces.
        root_namespaces: setup.supervised && corral_agent::runs_as_root(),
        plugin_engine: None,
        fetcher: Default::default(),
        disk_quota: Default::default(),
        container_logger: Default::default(),
        credential: security.agent_credential.clone(),
        authorizer: None,
        auth: Default::default(),
        executor_secret_key: None,
        tls: None,
        master_tls: None,
        master_etcd_tls: None,
    };
    let agent = match corral_agent::run(agent_config, executor).await {
        Ok(agent) => agent,
        Err(e) => {
            master.shutdown();
            return Err(start_error("agent", e));
        }
    };
    let address = MasterAddress::parse(&master.addr.to_string())?
        .with_credential(security.framework_credential.clone());
    let timed = tokio::time::timeout(patience, work(address)).await;
    agent.shutdown().await;
    master.shutdown();
    timed.map_err(|_| LaunchBenchError::Timeout(patience))?
}

fn start_error(what: &'static str, e: impl std::fmt::Display) -> LaunchBenchError {
    LaunchBenchError::Start {
        what,
        reason: e.to_string(),
    }
}

/// The scheduler: one task per offer, the next only once the last has finished.
pub(crate) async fn schedule(
    master: &MasterAddress,
    tasks: usize,
) -> Result<Vec<Duration>, LaunchBenchError> {
    let framework = FrameworkInfo {
        user: String::new(),
        name: "bench-plugins".into(),
        roles: vec!["*".into()],
        failover_timeout: Some(0.0),
        ..Default::default()
    };
    let (client, mut events) = SchedulerClient::subscribe(master, framework).await?;
    let mut times = Vec::with_capacity(tasks);
    // The task in flight: its id and when its launch was sent; `running` once it runs.
    let mut in_flight: Option<(String, Instant, bool)> = None;
    while times.len() < tasks || in_flight.is_some() {
        let event = events.next().await?;
        match event.kind {
            EventType::Offers => {
                let offers = event.offers.map(|o| o.offers).unwrap_or_default();
                let mut unused = Vec::new();
                for offer in offers {
                    if in_flight.is_none() && times.len() < tasks {
                        let id = format!("bench-launch-{:04}", times.len());
                        let started = Instant::now();
                        launch(&client, offer, &id).await?;
                        in_flight = Some((id, started, false));
                    } else {
                        unused.push(offer.id);
                    }
                }
                if !unused.is_empty() {
                    client.decline(unused, Some(0.01)).await?;
                }
            }
            EventType::Update => {
                let Some(status) = event.update.map(|u| u.status) else {
                    continue;
                };
                acknowledge(&client, &status).await?;
                let Some((id, started, running)) = &mut in_flight else {
                    continue;
                };
                if status.task_id.value != *id {
                    continue;
                }
                match status.state {
                    TaskState::TaskRunning if !*running => {
                        times.push(started.elapsed());
                        *running = true;
                    }
                    TaskState::TaskFinished if *running => in_flight = None,
                    state if state.is_terminal() => {
                        return Err(LaunchBenchError::Task {
                            task: id.clone(),
                            detail: format!(
                                "{state:?}: {}",
                                status.message.clone().unwrap_or_default()
                            ),
                        });
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let _ = client.teardown().await;
    Ok(times)
}

async fn launch(client: &SchedulerClient, offer: Offer, id: &str) -> Result<(), LaunchBenchError> {
    let task = TaskInfo {
        name: id.to_string(),
        task_id: Id {
            value: id.to_string(),
        },
        agent_id: offer.agent_id.clone(),
        resources: parse_resources(TASK_RESOURCES).unwrap_or_default(),
        command: Some(CommandInfo {
            shell: Some(true),
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let operation = Operation {
        kind: OperationType::Launch,
        launch: Some(Launch {
            task_infos: vec![task],
        }),
        reserve: None,
        unreserve: None,
        id: None,
    };
    client
        .accept(vec![offer.id], vec![operation], Some(0.01))
        .await?;
    Ok(())
}

async fn acknowledge(client: &SchedulerClient, status: &TaskStatus) -> Result<(), ClientError> {
    let (Some(uuid), Some(agent)) = (status.uuid.clone(), status.agent_id.clone()) else {
        return Ok(());
    };
    client
        .acknowledge(agent, status.task_id.clone(), uuid)
        .await
}
