//! `corral services`: Marathon's REST API v2 on a framework that keeps apps running (see
//! crates/services). It talks to the master like any framework and keeps its state in its
//! own store.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::duration_flag;
use super::master::MIN_LEADER_LEASE_SECS;
use super::master_arg::MasterArg;
use super::server_defaults::{default_work_dir, hostname, reachable};
use super::signals::shutdown_requested;
use corral_services::{ServicesConfig, ServicesHandle};
use corral_state::spec::{CONNECT_PATIENCE, connect_with_retry};
use corral_state::{Election, RedbStore, StateSpec, StateStore};

#[derive(Debug, Clone, clap::Args)]
pub struct ServicesArgs {
    #[command(flatten)]
    pub master: MasterArg,
    /// Where apps, versions and tasks are kept: file://PATH (embedded redb), memory, or
    /// etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (keys under PREFIX/services/; etcd+tls:// or
    /// --etcd-ca for TLS). Default: file://WORK_DIR/state.redb.
    #[arg(long, value_name = "file://PATH|memory|etcd://HOST:PORT,...")]
    pub state: Option<String>,
    /// Address the API listens on (0.0.0.0 for every interface).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub ip: IpAddr,
    /// The API's port (Marathon's default).
    #[arg(long, default_value_t = ServicesConfig::DEFAULT_PORT)]
    pub port: u16,
    /// Hostname to advertise; the machine's by default.
    #[arg(long)]
    pub hostname: Option<String>,
    /// The role the framework subscribes with.
    #[arg(long, default_value = "*")]
    pub role: String,
    /// Default: $XDG_STATE_HOME/corral/services, else ./.corral-services.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// With --state etcd://: the lease of the services leader (whole seconds, at least 2):
    /// a killed leader is replaced after about this long.
    #[arg(long, default_value = "3secs", value_name = "DURATION",
          value_parser = duration_flag::whole_secs_at_least(MIN_LEADER_LEASE_SECS))]
    pub leader_lease: Duration,
    #[command(flatten)]
    pub auth: super::auth_args::ServerAuthArgs,
    /// Who may change and see which apps: Mesos' ACLs as JSON, or a file holding them (the
    /// master's and agents' file serves too). `manage_apps` (create, change, restart, scale,
    /// delete; kill tasks; cancel deployments) and `view_apps` (what reads show), their
    /// objects `apps`: path ids, each covering everything under it (`/team-a`).
    #[arg(long, value_name = "JSON|FILE")]
    pub acls: Option<String>,
    #[command(flatten)]
    pub tls: super::tls_args::TlsArgs,
    #[command(flatten)]
    pub http: super::http_server_args::HttpServerArgs,
}

pub async fn run(args: ServicesArgs) -> anyhow::Result<ExitCode> {
    args.http.apply()?;
    let state_text = match &args.state {
        Some(text) => text.clone(),
        None => {
            let work_dir = args
                .work_dir
                .clone()
                .unwrap_or_else(|| default_work_dir("services"));
            format!("file://{}", work_dir.join("state.redb").display())
        }
    };
    // One set of --etcd-* flags for both: the state and the masters' etcd are usually one.
    let state_etcd = corral_state::names_etcd(&state_text);
    let master_etcd = corral_state::names_etcd(&args.master.master);
    let etcd_tls = args.master.etcd.load(state_etcd || master_etcd).await?;
    let spec = StateSpec::parse_with_tls(&state_text, etcd_tls.clone().filter(|_| state_etcd))?;
    if let StateSpec::File(path) = &spec
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut config = config(
        &args.master.master,
        SocketAddr::new(args.ip, args.port),
        args.hostname.clone().unwrap_or_else(|| hostname(args.ip)),
        &args.role,
        &state_text,
    )?;
    config.credential = args.master.credential()?;
    config.auth = args
        .auth
        .config(Default::default(), args.tls.tls_client_ca.is_some())?;
    if let Some(text) = &args.acls {
        config.authorizer = Arc::new(super::auth_args::read_acls(text)?);
    }
    config.tls = args.tls.load().await?;
    config.master_tls = args.master.tls()?;
    config.master_etcd_tls = etcd_tls.filter(|_| master_etcd);
    let mut handle = match &spec {
        // Several instances may share an etcd store: they elect a leader.
        StateSpec::Etcd {
            endpoints,
            prefix,
            tls,
        } => {
            let store = connect_with_retry(endpoints, prefix, tls.as_ref(), CONNECT_PATIENCE)
                .await
                .context("cannot open the services state")?;
            let election = Election::connect(
                endpoints,
                &format!("{prefix}services/"),
                args.leader_lease,
                tls.as_ref(),
            )
            .await
            .context("cannot reach etcd for the services leader election")?;
            let listen = config.listen;
            corral_services::run_elected(config, store, election)
                .await
                .with_context(|| format!("cannot start the services API on {listen}"))?
        }
        _ => {
            let store = spec
                .open()
                .await
                .context("cannot open the services state")?;
            start(config, store).await?
        }
    };
    println!(
        "corral services: Marathon API on {}://{}",
        args.tls.scheme(),
        reachable(handle.addr)
    );
    tokio::select! {
        () = shutdown_requested() => {}
        () = handle.wait() => bail!("the services API stopped unexpectedly"),
    }
    handle.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// The services configuration; the role is checked here so a typo fails at start.
pub fn config(
    master: &str,
    listen: SocketAddr,
    hostname: String,
    role: &str,
    state: &str,
) -> anyhow::Result<ServicesConfig> {
    if role != "*"
        && (role.is_empty() || role.starts_with('-') || role.contains(char::is_whitespace))
    {
        bail!("--role '{role}' is not a valid role name");
    }
    Ok(ServicesConfig {
        master: master.to_string(),
        listen,
        hostname,
        role: role.to_string(),
        user: std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".into()),
        framework_name: "marathon".into(),
        state_description: state.to_string(),
        credential: None,
        auth: Default::default(),
        authorizer: Arc::new(corral_authz::AllowAll),
        tls: None,
        master_tls: None,
        master_etcd_tls: None,
    })
}

pub async fn start(
    config: ServicesConfig,
    store: Arc<dyn StateStore>,
) -> anyhow::Result<ServicesHandle> {
    let listen = config.listen;
    corral_services::run(config, store)
        .await
        .with_context(|| format!("cannot start the services API on {listen}"))
}

/// For `corral dev`: the services state in the dev work dir, beside the master's registry.
pub fn open_dev_store(work_dir: &Path) -> anyhow::Result<(Arc<dyn StateStore>, String)> {
    let path = work_dir.join("services").join("state.redb");
    let store = RedbStore::open(&path).context("cannot open the services state")?;
    Ok((Arc::new(store), format!("file://{}", path.display())))
}
