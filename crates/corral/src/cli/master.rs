//! `corral master`: runs a master until Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::duration_flag;
use super::server_defaults::{HEARTBEAT_INTERVAL, PLUGIN_LIMITS, hostname, server_work_dir};
use super::signals::shutdown_requested;
use corral_master::{MasterConfig, PartitionConfig, StateSpec};
use corral_plugin_host::PluginEngine;
use corral_state::Election;
use corral_state::spec::{CONNECT_PATIENCE, connect_with_retry};

#[derive(Debug, Clone, clap::Args)]
pub struct MasterArgs {
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub ip: IpAddr,
    #[arg(long, default_value_t = 5050)]
    pub port: u16,
    /// Hostname to advertise; the machine's by default.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Registry: file://PATH (embedded redb), memory, or an etcd cluster as
    /// etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (keys under /PREFIX/, default /corral/; an
    /// unreachable etcd is retried for 30 s; etcd+tls:// or --etcd-ca for TLS). Default:
    /// file://WORK_DIR/registry.redb.
    #[arg(long, value_name = "file://PATH|memory|etcd://HOST:PORT,...")]
    pub state: Option<String>,
    #[command(flatten)]
    pub etcd: super::etcd_tls_args::EtcdTlsArgs,
    /// Allocation policy: a built-in name or a path to a .wasm allocator component.
    #[arg(long, default_value = "drf", value_name = "NAME|FILE")]
    pub allocator: String,
    /// The allocator's configuration, JSON given to its `init` (see docs/policies.md).
    #[arg(long, default_value = "", value_name = "JSON")]
    pub allocator_config: String,
    /// The registry's directory (without --state). Default: /var/lib/corral/master.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// How often the allocator offers resources (`1secs`, `200ms`; at least 1ms).
    #[arg(long, default_value = "1secs", value_name = "DURATION",
          value_parser = duration_flag::at_least(MIN_ALLOCATION_INTERVAL))]
    pub allocation_interval: Duration,
    #[command(flatten)]
    pub hooks: super::hook_args::HookArgs,
    #[command(flatten)]
    pub trust: super::plugin_keys::PluginTrustArgs,
    /// With an etcd registry: the leader lease's TTL, whole seconds (at least 2secs). A dead
    /// leader is replaced after about this long; a leader cut off from etcd stops acting by
    /// then.
    #[arg(long, default_value = "5secs", value_name = "DURATION",
          value_parser = duration_flag::whole_secs_at_least(MIN_LEADER_LEASE_SECS))]
    pub leader_lease: Duration,
    /// How long the master waits for an agent to answer a ping (`15secs`, `500ms`, `2mins`).
    #[arg(long, default_value = "15secs", value_name = "DURATION",
          value_parser = duration_flag::positive)]
    pub agent_ping_timeout: Duration,
    /// Pings an agent may miss in a row before it is marked unreachable.
    #[arg(long, default_value_t = 5)]
    pub max_agent_ping_timeouts: u32,
    /// The HTTP API of a `corral dns` server, served under /mesos_dns/ on the cluster URL
    /// (DC/OS runs one on every master: http://127.0.0.1:8123). Unset: /mesos_dns/ is 404.
    #[arg(long, value_name = "http://HOST:PORT", value_parser = http_url)]
    pub mesos_dns_url: Option<String>,
    #[command(flatten)]
    pub auth: super::auth_args::ServerAuthArgs,
    #[command(flatten)]
    pub tls: super::tls_args::TlsArgs,
    #[command(flatten)]
    pub http: super::http_server_args::HttpServerArgs,
    /// The CA (PEM) that signed the certificates of agents serving https: the master pings
    /// them and forwards /agent/{id}/ to them over https trusting only it, presenting its
    /// own --tls-cert. Default: --tls-client-ca. With neither, such agents cannot be
    /// verified: their pings fail (the log says why).
    #[arg(long, value_name = "FILE")]
    pub agent_ca: Option<PathBuf>,
    /// Frameworks must authenticate (HTTP Basic) to subscribe (Mesos'
    /// --authenticate_frameworks); a framework id is bound to its principal either way.
    #[arg(long, visible_alias = "authenticate-http-frameworks")]
    pub authenticate_frameworks: bool,
    /// Agents must authenticate to register; an agent id is bound to the principal that
    /// registered it (Mesos' --authenticate_agents).
    #[arg(long)]
    pub authenticate_agents: bool,
    /// Who may do what: Mesos' ACLs as JSON, or a file holding them (register_frameworks,
    /// run_tasks, teardown_frameworks, reserve_resources, unreserve_resources,
    /// update_quotas, update_weights, mark_agents_gone, and Corral's install_plugins,
    /// activate_plugins, swap_allocator; `permissive` decides what no ACL covers).
    #[arg(long, value_name = "JSON|FILE")]
    pub acls: Option<String>,
    /// How long an authorizer plugin's decisions are remembered (`10secs`; `0secs`: asked on
    /// every request). Activating or deactivating an authorizer starts afresh.
    #[arg(long, default_value = "10secs", value_name = "DURATION",
          value_parser = duration_flag::parse)]
    pub authorizer_cache_ttl: Duration,
    /// The capability classes any plugin may be given (comma-separated: devices,
    /// read_paths, cgroup_controllers, task_environment, override_task_environment; or
    /// none). A plugin asking for
    /// another is refused whatever its installer accepts. Default: every class.
    #[arg(long, value_name = "CLASSES", value_parser = corral_master::plugin_consent::CapabilityPolicy::parse)]
    pub plugin_capabilities_allowed: Option<corral_master::plugin_consent::CapabilityPolicy>,
}

/// An `http://` or `https://` URL with a host.
fn http_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or("expected http://HOST:PORT")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("expected a host after http://".into());
    }
    Ok(text.to_string())
}

/// What the master trusts and presents calling agents that serve https: `--agent-ca`, else
/// `--tls-client-ca`, and its own certificate; `None` without either CA.
fn agent_tls(args: &MasterArgs) -> anyhow::Result<Option<corral_client::ClientTls>> {
    let Some(ca) = args
        .agent_ca
        .as_deref()
        .or(args.tls.tls_client_ca.as_deref())
    else {
        return Ok(None);
    };
    corral_client::ClientTls::read(
        Some(ca),
        args.tls.tls_cert.as_deref(),
        args.tls.tls_key.as_deref(),
    )
    .context("cannot use --agent-ca (or --tls-client-ca) and --tls-cert to call agents")
}

/// An interval of zero would run allocation cycles back to back.
pub const MIN_ALLOCATION_INTERVAL: Duration = Duration::from_millis(1);

/// etcd lease TTLs are whole seconds, and etcd's own minimum is about 1.5 s.
pub const MIN_LEADER_LEASE_SECS: u64 = 2;

pub async fn run(args: MasterArgs) -> anyhow::Result<ExitCode> {
    args.http.apply()?;
    let state = match &args.state {
        Some(text) => args.etcd.state_spec(text).await?,
        None => {
            args.etcd.load(false).await?;
            let work_dir = args
                .work_dir
                .clone()
                .unwrap_or_else(|| server_work_dir("master"));
            StateSpec::File(work_dir.join("registry.redb"))
        }
    };
    let engine = PluginEngine::new().context("cannot start the plugin engine")?;
    args.trust.apply(&engine)?;
    let allocator = engine
        .allocator_factory(&args.allocator, &args.allocator_config, PLUGIN_LIMITS)
        .with_context(|| format!("cannot load the allocator '{}'", args.allocator))?;
    let hooks = args.hooks.load(&engine)?;
    let config = MasterConfig {
        listen: SocketAddr::new(args.ip, args.port),
        hostname: args.hostname.clone().unwrap_or_else(|| hostname(args.ip)),
        state,
        allocator: args.allocator.clone(),
        allocation_interval: args.allocation_interval,
        heartbeat_interval: HEARTBEAT_INTERVAL,
        hooks,
        upstreams: corral_master::Upstreams::with_mesos_dns(args.mesos_dns_url.clone()),
        auth: args.auth.config(
            corral_http::auth::Required {
                frameworks: args.authenticate_frameworks,
                agents: args.authenticate_agents,
                ..Default::default()
            },
            args.tls.tls_client_ca.is_some(),
        )?,
        authorizer_cache_ttl: args.authorizer_cache_ttl,
        authorizer: match &args.acls {
            Some(text) => Some(std::sync::Arc::new(super::auth_args::read_acls(text)?)),
            None => None,
        },
        plugin_capabilities: args.plugin_capabilities_allowed.clone().unwrap_or_default(),
        tls: args.tls.load().await?,
        agent_tls: agent_tls(&args)?,
    };
    if args.max_agent_ping_timeouts == 0 {
        bail!("--max-agent-ping-timeouts must be at least 1");
    }
    let partitions = PartitionConfig {
        ping_timeout: args.agent_ping_timeout,
        max_ping_timeouts: args.max_agent_ping_timeouts,
    };
    let master = match &config.state {
        // Several masters may share an etcd registry: they elect one leader.
        StateSpec::Etcd {
            endpoints,
            prefix,
            tls,
        } => {
            let store = connect_with_retry(endpoints, prefix, tls.as_ref(), CONNECT_PATIENCE)
                .await
                .context("cannot open the master's registry")?;
            let election = Election::connect(endpoints, prefix, args.leader_lease, tls.as_ref())
                .await
                .context("cannot reach etcd for the leader election")?;
            corral_master::leader::run(config, partitions, allocator, store, election, engine).await
        }
        _ => {
            let store = config
                .state
                .open()
                .await
                .context("cannot open the master's registry")?;
            corral_master::run_with_engine(config, partitions, allocator, store, engine).await
        }
    }
    .context("cannot start the master")?;
    println!(
        "corral master listening on {}://{}",
        args.tls.scheme(),
        master.addr
    );
    if !master.serve_until(shutdown_requested()).await {
        bail!("the master stopped unexpectedly");
    }
    Ok(ExitCode::SUCCESS)
}
