//! `corral agent`: runs an agent that registers with a master, until Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::duration_flag;
use super::machine_args::MachineArgs;
use super::master_arg::MasterArg;
use super::server_defaults::{PLUGIN_LIMITS, hostname, server_work_dir};
use super::signals::shutdown_requested;
use corral_agent::AgentConfig;
use corral_client::master_address::MasterAddress;
use corral_plugin_host::PluginEngine;

#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentArgs {
    /// Without an action, `corral agent` runs an agent.
    #[command(subcommand)]
    pub action: Option<AgentAction>,
    #[command(flatten)]
    pub master: MasterArg,
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub ip: IpAddr,
    #[arg(long, default_value_t = 5051)]
    pub port: u16,
    /// Hostname to advertise; the machine's by default.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Sandboxes and checkpoints. Default: /var/lib/corral/agent.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
    /// Executor: a built-in name or a path to a .wasm executor component.
    #[arg(long, default_value = "command", value_name = "NAME|FILE")]
    pub executor: String,
    /// Resend an unacknowledged status update after this long (at least 1ms).
    #[arg(long, default_value = "10secs", value_name = "DURATION",
          value_parser = duration_flag::at_least(MIN_STATUS_UPDATE_RETRY))]
    pub status_update_retry: Duration,
    #[command(flatten)]
    pub hooks: super::hook_args::HookArgs,
    #[command(flatten)]
    pub trust: super::plugin_keys::PluginTrustArgs,
    /// Kill an HTTP executor that has not subscribed this long after it started, and fail
    /// its tasks (Mesos' --executor_registration_timeout).
    #[arg(long, default_value = "1mins", value_name = "DURATION", value_parser = duration_flag::parse)]
    pub executor_registration_timeout: Duration,
    /// After a restart, kill an HTTP executor found running that has not subscribed again
    /// this long, and fail its tasks (Mesos' --executor_reregistration_timeout).
    #[arg(long, default_value = "2secs", value_name = "DURATION", value_parser = duration_flag::parse)]
    pub executor_reregistration_timeout: Duration,
    /// The most one of a task's URIs may bring into its sandbox (downloaded or unpacked).
    #[arg(long, default_value_t = 1024, value_name = "MB")]
    pub fetcher_max_mb: u64,
    #[command(flatten)]
    pub auth: super::auth_args::ServerAuthArgs,
    /// Calls to the v1 executor API must carry the token the agent gave the executor at
    /// launch (`MESOS_EXECUTOR_AUTHENTICATION_TOKEN`, sent as `Authorization: Bearer`).
    #[arg(long)]
    pub authenticate_http_executors: bool,
    /// Who may read which task sandboxes: Mesos' ACLs as JSON or a file holding them
    /// (`access_sandboxes`, on the task's user). The master's file serves: the agent asks
    /// only about what it enforces; actions no Corral server enforces are refused.
    #[arg(long, value_name = "JSON|FILE")]
    pub acls: Option<String>,
    /// The key (at least 32 bytes) that signs executors' tokens; default: one made in the
    /// work dir on first start.
    #[arg(long, value_name = "FILE")]
    pub executor_secret_key: Option<PathBuf>,
    #[command(flatten)]
    pub tls: super::tls_args::TlsArgs,
    #[command(flatten)]
    pub http: super::http_server_args::HttpServerArgs,
}

/// What `corral agent ACTION` does to an agent of the cluster instead of running one.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AgentAction {
    /// Mark an agent gone for good (MARK_AGENT_GONE): its tasks become
    /// TASK_GONE_BY_OPERATOR and it may not register again with that id; the agent kills
    /// them, forgets its id and exits (restarted, it registers as a new agent).
    Gone(super::agent_gone::GoneArgs),
}

/// A retry of zero would resend every update back to back.
const MIN_STATUS_UPDATE_RETRY: Duration = Duration::from_millis(1);

pub async fn run(args: AgentArgs) -> anyhow::Result<ExitCode> {
    args.http.apply()?;
    // Several masters (HA) or their etcd (`etcd://...`, as their --state): the agent
    // follows whichever leads.
    let master = if corral_state::names_etcd(&args.master.master) {
        args.master
            .etcd
            .state_spec(&args.master.master)
            .await
            .context("bad --master")?;
        args.master.master.trim().to_string()
    } else {
        MasterAddress::parse_list(&args.master.master)?
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    args.machine.check()?;
    let engine = PluginEngine::new().context("cannot start the plugin engine")?;
    args.trust.apply(&engine)?;
    let executor = engine
        .executor_factory(&args.executor, PLUGIN_LIMITS)
        .with_context(|| format!("cannot load the executor '{}'", args.executor))?;
    let executor = args.hooks.guard_executor(executor);
    let hooks = args.hooks.load(&engine)?;
    let config = AgentConfig {
        master: master.clone(),
        listen: SocketAddr::new(args.ip, args.port),
        hostname: args.hostname.clone().unwrap_or_else(|| hostname(args.ip)),
        work_dir: args
            .work_dir
            .clone()
            .unwrap_or_else(|| server_work_dir("agent")),
        resources: args.machine.resources.clone(),
        attributes: args.machine.attributes.clone(),
        executor: args.executor.clone(),
        status_update_retry: args.status_update_retry,
        isolation: args.machine.isolation_config(),
        recovery: corral_agent::RecoveryConfig {
            executor_reregistration_timeout: args.executor_reregistration_timeout,
            ..corral_agent::RecoveryConfig::supervised_by_this_binary(args.machine.recover)
        },
        executor_registration_timeout: args.executor_registration_timeout,
        switch_user: args.machine.switch_user(),
        root_namespaces: args.machine.root_namespaces(),
        plugin_engine: Some(engine.clone()),
        isolators: args.machine.isolators(&engine)?,
        hooks,
        fetcher: corral_agent::fetcher::FetcherConfig {
            max_bytes: args.fetcher_max_mb.saturating_mul(1 << 20),
        },
        // Off as in Mesos: a production agent opts in.
        disk_quota: args.machine.sandbox.disk_quota(false),
        container_logger: args.machine.sandbox.container_logger(),
        credential: args.master.credential()?,
        auth: args.auth.config(
            corral_http::auth::Required {
                executors: args.authenticate_http_executors,
                ..Default::default()
            },
            args.tls.tls_client_ca.is_some(),
        )?,
        authorizer: match &args.acls {
            Some(text) => Some(std::sync::Arc::new(super::auth_args::read_acls(text)?)),
            None => None,
        },
        executor_secret_key: args.executor_secret_key.clone(),
        tls: args.tls.load().await?,
        master_tls: args.master.tls()?,
        master_etcd_tls: args.master.etcd_tls().await?,
    };
    let agent = corral_agent::run(config, executor)
        .await
        .context("cannot start the agent")?;
    println!(
        "corral agent listening on {}://{}, registering with the master at {master}",
        args.tls.scheme(),
        agent.addr
    );
    tokio::select! {
        end = agent.wait() => match end {
            // Killed its tasks and forgot its id: a restart registers a new agent.
            corral_agent::AgentEnd::Gone(gone) => bail!("{gone}"),
            corral_agent::AgentEnd::Stopped => bail!("the agent stopped unexpectedly"),
        },
        () = shutdown_requested() => {}
    }
    Ok(ExitCode::SUCCESS)
}
