//! `corral dev`: a master, an agent, the services component (Marathon's API) and a DNS
//! server (Mesos-DNS names) in one process, with embedded stores and the built-in plugins. Zero configuration: `corral dev`,
//! then `corral execute` or `curl -X POST localhost:8080/v2/apps ...` in another terminal.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::duration_flag;
use super::machine_args::MachineArgs;
use super::master::MIN_ALLOCATION_INTERVAL;
use super::server_defaults::{
    HEARTBEAT_INTERVAL, PLUGIN_LIMITS, default_work_dir, hostname, reachable,
};
use super::signals::shutdown_requested;
use corral_agent::AgentConfig;
use corral_master::{MasterConfig, StateSpec};
use corral_plugin_host::PluginEngine;
use corral_state::RedbStore;

/// Agents resend unacknowledged status updates after this long.
const STATUS_UPDATE_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    /// Master port.
    #[arg(long, default_value_t = 5050)]
    pub port: u16,
    #[arg(long, default_value_t = 5051)]
    pub agent_port: u16,
    /// Address both listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub ip: IpAddr,
    /// Registry and sandboxes. Default: $XDG_STATE_HOME/corral/dev, else ./.corral-dev.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
    /// Allocation policy: a built-in name or a path to a .wasm allocator component.
    #[arg(long, default_value = "drf", value_name = "NAME|FILE")]
    pub allocator: String,
    /// How often the allocator offers resources (`1secs`, `200ms`; at least 1ms).
    #[arg(long, default_value = "1secs", value_name = "DURATION",
          value_parser = duration_flag::at_least(MIN_ALLOCATION_INTERVAL))]
    pub allocation_interval: Duration,
    #[command(flatten)]
    pub hooks: super::hook_args::HookArgs,
    #[command(flatten)]
    pub trust: super::plugin_keys::PluginTrustArgs,
    /// The services component's port (Marathon's API; 0 picks a free one).
    #[arg(long, default_value_t = corral_services::ServicesConfig::DEFAULT_PORT)]
    pub services_port: u16,
    /// Do not start the services component.
    #[arg(long)]
    pub no_services: bool,
    /// DNS port (UDP and TCP) for Mesos-DNS names of the cluster's tasks (0 picks a free one).
    #[arg(long, default_value_t = 8053)]
    pub dns_port: u16,
    /// The port of the DNS server's HTTP API (Mesos-DNS's; 0 picks a free one).
    #[arg(long, default_value_t = 8123)]
    pub dns_http_port: u16,
    /// Do not start the DNS server.
    #[arg(long)]
    pub no_dns: bool,
    /// The DNS domain.
    #[arg(long, default_value = "mesos")]
    pub dns_domain: String,
    /// A name server for names outside the domain (IP or IP:PORT; repeat for several).
    /// Default: the host's, from /etc/resolv.conf.
    #[arg(long = "dns-resolver", value_name = "IP[:PORT]")]
    pub dns_resolvers: Vec<String>,
    /// Answer REFUSED for names outside the domain instead of forwarding them.
    #[arg(long)]
    pub dns_no_forward: bool,
    #[command(flatten)]
    pub http: super::http_server_args::HttpServerArgs,
}

pub async fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    args.machine.check()?;
    args.http.apply()?;
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| default_work_dir("dev"));
    let host = hostname(args.ip);

    let engine = PluginEngine::new().context("cannot start the plugin engine")?;
    args.trust.apply(&engine)?;
    let allocator = engine
        .allocator_factory(&args.allocator, "", PLUGIN_LIMITS)
        .with_context(|| format!("cannot load the allocator '{}'", args.allocator))?;
    let executor = engine
        .executor_factory("command", PLUGIN_LIMITS)
        .context("cannot load the command executor")?;
    let executor = args.hooks.guard_executor(executor);
    let hooks = args.hooks.load(&engine)?;

    let registry = work_dir.join("master").join("registry.redb");
    let store = RedbStore::open(&registry).context("cannot open the master's registry")?;
    // The DNS server starts after the master (it follows it); its address is set then.
    let upstreams = corral_master::Upstreams::default();
    let master_config = MasterConfig {
        listen: SocketAddr::new(args.ip, args.port),
        hostname: host.clone(),
        state: StateSpec::File(registry),
        allocator: args.allocator.clone(),
        allocation_interval: args.allocation_interval,
        heartbeat_interval: HEARTBEAT_INTERVAL,
        hooks: hooks.clone(),
        upstreams: upstreams.clone(),
        auth: Default::default(),
        authorizer_cache_ttl: std::time::Duration::from_secs(10),
        authorizer: None,
        plugin_capabilities: Default::default(),
        tls: None,
        agent_tls: None,
    };
    let master = corral_master::run(master_config, allocator, std::sync::Arc::new(store))
        .await
        .context("cannot start the master")?;
    let master_addr = reachable(master.addr);

    let agent_config = AgentConfig {
        master: master_addr.to_string(),
        listen: SocketAddr::new(args.ip, args.agent_port),
        hostname: host,
        work_dir: work_dir.join("agent"),
        resources: args.machine.resources.clone(),
        attributes: args.machine.attributes.clone(),
        executor: "command".into(),
        status_update_retry: STATUS_UPDATE_RETRY,
        isolation: args.machine.isolation_config(),
        recovery: corral_agent::RecoveryConfig::supervised_by_this_binary(args.machine.recover),
        executor_registration_timeout: corral_agent::DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT,
        switch_user: args.machine.switch_user(),
        root_namespaces: args.machine.root_namespaces(),
        plugin_engine: Some(engine.clone()),
        isolators: args.machine.isolators(&engine)?,
        hooks,
        fetcher: Default::default(),
        // On in a development cluster: a task's runaway writes would fill the developer's
        // own disk (only tasks that ask for `disk` are limited).
        disk_quota: args.machine.sandbox.disk_quota(true),
        container_logger: args.machine.sandbox.container_logger(),
        credential: None,
        authorizer: None,
        auth: Default::default(),
        executor_secret_key: None,
        tls: None,
        master_tls: None,
        master_etcd_tls: None,
    };
    let agent = corral_agent::run(agent_config, executor)
        .await
        .context("cannot start the agent")?;

    let services = if args.no_services {
        None
    } else {
        let (store, state) = super::services::open_dev_store(&work_dir)?;
        let listen = SocketAddr::new(args.ip, args.services_port);
        let config = super::services::config(
            &master_addr.to_string(),
            listen,
            hostname(args.ip),
            "*",
            &state,
        )?;
        Some(super::services::start(config, store).await.with_context(
            || "(choose another port with --services-port, or turn it off with --no-services)",
        )?)
    };
    let services_line = services
        .as_ref()
        .map(|s| format!(", Marathon API on http://{}", reachable(s.addr)))
        .unwrap_or_default();
    let dns = if args.no_dns {
        None
    } else {
        let dns = start_dns(&args, &master_addr.to_string()).await?;
        if let Some(http) = dns.http_addr {
            upstreams.set_mesos_dns(format!("http://{}", reachable(http)));
        }
        Some(dns)
    };
    let dns_line = dns
        .as_ref()
        .map(|d| {
            let http = d
                .http_addr
                .map(|a| format!(" (HTTP API on http://{})", reachable(a)))
                .unwrap_or_default();
            format!(", DNS on {}{http}", reachable(d.dns_addr))
        })
        .unwrap_or_default();
    println!(
        "corral dev: master on http://{master_addr}, agent on http://{}{services_line}{dns_line}, \
         state in {}. Try: corral execute --master {master_addr} --command 'echo hi'",
        reachable(agent.addr),
        work_dir.display()
    );
    let services_stopped = async {
        match services {
            Some(mut handle) => handle.wait().await,
            None => std::future::pending().await,
        }
    };
    // A dev agent marked gone stops (its tasks killed, its id forgotten); the master keeps
    // serving, without an agent until `corral dev` restarts with a new one.
    let agent_stopped = async move {
        match agent.wait().await {
            corral_agent::AgentEnd::Gone(gone) => {
                eprintln!("corral dev: {gone}; the master keeps serving without an agent");
                std::future::pending().await
            }
            corral_agent::AgentEnd::Stopped => {}
        }
    };
    tokio::select! {
        () = master.wait() => bail!("the master stopped unexpectedly"),
        () = agent_stopped => bail!("the agent stopped unexpectedly"),
        () = services_stopped => bail!("the services API stopped unexpectedly"),
        () = shutdown_requested() => {}
    }
    if let Some(dns) = dns {
        dns.stop();
    }
    Ok(ExitCode::SUCCESS)
}

/// The DNS server of `corral dev`, following its master.
async fn start_dns(args: &DevArgs, master: &str) -> anyhow::Result<corral_dns::DnsServer> {
    let options = super::dns::DnsOptions {
        domain: args.dns_domain.clone(),
        ttl: 60,
        resolvers: args.dns_resolvers.clone(),
        no_forward: args.dns_no_forward,
        forward_timeout: Duration::from_secs(5),
        rate_limit: 0,
    };
    let mut config = options.config(master, SocketAddr::new(args.ip, args.dns_port))?;
    config.http_listen = Some(SocketAddr::new(args.ip, args.dns_http_port));
    corral_dns::start(config).await.with_context(|| {
        "cannot start the DNS server (choose other ports with --dns-port and --dns-http-port, \
         or turn it off with --no-dns)"
    })
}
