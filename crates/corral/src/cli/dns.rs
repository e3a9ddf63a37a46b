//! `corral dns`: service discovery with Mesos-DNS's names (`<task>.<framework>.mesos`, SRV
//! `_<task>._tcp.<framework>.mesos`, `leader.mesos`...) over DNS and Mesos-DNS's HTTP API,
//! kept current from the leading master's event stream; run several for redundancy.
//! `corral dns lookup NAME` asks a DNS server what a client would be told.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::duration_flag;
use super::master_arg::MasterArg;
use super::signals::shutdown_requested;
use corral_dns::{DnsConfig, Forwarding};

#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DnsArgs {
    #[command(subcommand)]
    pub command: Option<DnsCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DnsCommand {
    /// Ask a DNS server for a name (A or SRV) and print its answer.
    Lookup(LookupArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub master: MasterArg,
    /// DNS address, UDP and TCP.
    #[arg(long, default_value = "0.0.0.0:53", value_name = "IP:PORT")]
    pub listen: SocketAddr,
    /// The HTTP API's address (Mesos-DNS's `/v1/...`).
    #[arg(long, default_value = "0.0.0.0:8123", value_name = "IP:PORT")]
    pub http_listen: SocketAddr,
    /// Do not serve the HTTP API.
    #[arg(long)]
    pub no_http: bool,
    #[command(flatten)]
    pub options: DnsOptions,
    #[command(flatten)]
    pub auth: super::auth_args::ServerAuthArgs,
    #[command(flatten)]
    pub tls: super::tls_args::TlsArgs,
    #[command(flatten)]
    pub http: super::http_server_args::HttpServerArgs,
}

/// What `corral dns` and `corral dev --dns-...` share.
#[derive(Debug, Clone, clap::Args)]
pub struct DnsOptions {
    /// The domain served.
    #[arg(long = "domain", default_value = "mesos")]
    pub domain: String,
    /// Seconds answers may be cached.
    #[arg(long, default_value_t = 60)]
    pub ttl: u32,
    /// A name server for names outside the domain (IP or IP:PORT; repeat for several).
    /// Default: the host's, from /etc/resolv.conf.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    pub resolvers: Vec<String>,
    /// Answer REFUSED for names outside the domain instead of forwarding them.
    #[arg(long)]
    pub no_forward: bool,
    /// How long a forwarded query may take.
    #[arg(long, default_value = "5secs", value_name = "DURATION", value_parser = duration_flag::positive)]
    pub forward_timeout: Duration,
    /// Queries per second one client address may send; past it they are dropped (0: none).
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
}

impl DnsOptions {
    pub fn config(&self, masters: &str, listen: SocketAddr) -> anyhow::Result<DnsConfig> {
        let mut config = DnsConfig::new(masters, listen);
        config.domain = self.domain.trim_matches('.').to_ascii_lowercase();
        if config.domain.is_empty() {
            bail!("--domain is empty");
        }
        config.soa_mname = format!("ns1.{}", config.domain);
        config.soa_rname = format!("root.ns1.{}", config.domain);
        config.ttl = self.ttl;
        config.forward_timeout = self.forward_timeout;
        config.rate_limit = self.rate_limit;
        config.forwarding = if self.no_forward {
            Forwarding::Off
        } else if self.resolvers.is_empty() {
            Forwarding::System
        } else {
            Forwarding::Servers(
                self.resolvers
                    .iter()
                    .map(|r| parse_resolver(r))
                    .collect::<anyhow::Result<_>>()?,
            )
        };
        Ok(config)
    }
}

fn parse_resolver(text: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let ip: IpAddr = text
        .parse()
        .with_context(|| format!("--resolver '{text}' is not IP or IP:PORT"))?;
    Ok(SocketAddr::new(ip, 53))
}

#[derive(Debug, Clone, clap::Args)]
pub struct LookupArgs {
    /// The name, e.g. web-shop.marathon.mesos or _web-shop._tcp.marathon.mesos.
    pub name: String,
    /// The record type.
    #[arg(long = "type", default_value = "A", value_parser = ["A", "SRV", "a", "srv"])]
    pub kind: String,
    /// The DNS server to ask (`corral dev` serves on 127.0.0.1:8053).
    #[arg(long, default_value = "127.0.0.1:8053", value_name = "IP:PORT")]
    pub server: SocketAddr,
}

pub async fn run(args: DnsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(DnsCommand::Lookup(lookup)) => run_lookup(lookup).await,
        None => serve(args.serve).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    args.http.apply()?;
    let mut config = args.options.config(&args.master.master, args.listen)?;
    config.credential = args.master.credential()?;
    config.auth = args
        .auth
        .config(Default::default(), args.tls.tls_client_ca.is_some())?;
    config.tls = args.tls.load().await?;
    config.master_tls = args.master.tls()?;
    config.master_etcd_tls = args.master.etcd_tls().await?;
    if !args.no_http {
        config.http_listen = Some(args.http_listen);
    }
    let server = corral_dns::start(config)
        .await
        .context("cannot start the DNS server")?;
    let http = server
        .http_addr
        .map(|a| format!(", HTTP API on {}://{a}", args.tls.scheme()))
        .unwrap_or_default();
    println!(
        "corral dns: DNS on {} (UDP and TCP){http}, following {}",
        server.dns_addr, args.master.master
    );
    shutdown_requested().await;
    server.stop();
    server.wait().await;
    Ok(ExitCode::SUCCESS)
}

async fn run_lookup(args: LookupArgs) -> anyhow::Result<ExitCode> {
    let kind = if args.kind.eq_ignore_ascii_case("srv") {
        corral_dns::lookup::RecordType::SRV
    } else {
        corral_dns::lookup::RecordType::A
    };
    let found =
        corral_dns::lookup::lookup(args.server, &args.name, kind, Duration::from_secs(5)).await?;
    for answer in found {
        println!("{answer}");
    }
    Ok(ExitCode::SUCCESS)
}
