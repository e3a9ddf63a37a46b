//! Starting the DNS server: UDP and TCP on one port, the HTTP API on another, and the feed
//! that keeps the records current. [`DnsServer::stop`] ends all three.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;

use super::answer::ZoneInfo;
use super::config::{DnsConfig, Forwarding, SOA_EXPIRE, SOA_REFRESH, SOA_RETRY};
use super::feed::Feed;
use super::forward::{ForwardSetupError, Forwarder};
use super::generator::NamingConfig;
use super::handler::{DnsHandler, QueryCounters};
use super::http_api::{HttpState, router};
use super::rate_limit::RateLimiter;
use super::zone::Zone;

/// A TCP connection that sends no query for this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(5);
/// Responses queued per TCP connection.
const TCP_RESPONSE_BUFFER: usize = 32;
/// Tries to find one free port for both UDP and TCP when asked for port 0.
const PORT_TRIES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error(transparent)]
    Forward(#[from] ForwardSetupError),
}

/// A running DNS server.
pub struct DnsServer {
    /// Where DNS is served (UDP and TCP).
    pub dns_addr: SocketAddr,
    /// Where the HTTP API is served.
    pub http_addr: Option<SocketAddr>,
    pub zone: Arc<Zone>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DnsServer {
    /// Ends serving and the feed.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Resolves when every part has stopped.
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let bind_error = |e: std::io::Error| DnsError::Bind {
        addr,
        reason: e.to_string(),
    };
    let tries = if addr.port() == 0 { PORT_TRIES } else { 1 };
    let mut last = None;
    for _ in 0..tries {
        let udp = UdpSocket::bind(addr).await.map_err(bind_error)?;
        let port = udp.local_addr().map_err(bind_error)?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(bind_error(
        last.unwrap_or_else(|| std::io::Error::other("no free port")),
    ))
}

/// The configured masters, `host:port`, for `masterN` names (none for etcd://).
fn master_list(text: &str) -> Vec<String> {
    if text.starts_with("etcd://") {
        return Vec::new();
    }
    text.split(',')
        .map(|m| {
            let m = m.trim();
            let m = m.strip_prefix("https://").unwrap_or(m);
            let m = m.trim_start_matches("http://").trim_end_matches('/');
            if m.contains(':') {
                m.to_string()
            } else {
                format!("{m}:5050")
            }
        })
        .filter(|m| !m.starts_with(':'))
        .collect()
}

/// Serves DNS (and the HTTP API) with the feed following `config.masters`.
pub async fn start(config: DnsConfig) -> Result<DnsServer, DnsError> {
    serve(config, true).await
}

/// Serves DNS (and the HTTP API) without a feed: the caller installs records in
/// [`DnsServer::zone`] (benchmarks, tests).
pub async fn start_without_feed(config: DnsConfig) -> Result<DnsServer, DnsError> {
    serve(config, false).await
}

async fn serve(config: DnsConfig, feed: bool) -> Result<DnsServer, DnsError> {
    let (udp, tcp) = bind_pair(config.listen).await?;
    let dns_addr = udp.local_addr().map_err(|e| DnsError::Bind {
        addr: config.listen,
        reason: e.to_string(),
    })?;
    let forwarder = Forwarder::new(&config.forwarding, config.forward_timeout)?;
    let zone = Arc::new(Zone::default());
    let counters = Arc::new(QueryCounters::default());
    let info = ZoneInfo::new(
        &config.domain,
        config.ttl,
        &config.soa_mname,
        &config.soa_rname,
        config.srv_weight,
    );
    let handler = DnsHandler::new(
        zone.clone(),
        info,
        forwarder,
        RateLimiter::new(config.rate_limit),
        counters.clone(),
    );
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let mut server = hickory_server::Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE, TCP_RESPONSE_BUFFER);
    let mut dns_stop = stop_rx.clone();
    tasks.push(tokio::spawn(async move {
        tokio::select! {
            result = server.block_until_done() => {
                if let Err(error) = result {
                    tracing::error!(%error, "the DNS server stopped");
                }
            }
            _ = dns_stop.changed() => {
                let _ = server.shutdown_gracefully().await;
            }
        }
    }));

    let http_addr = match config.http_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|e| DnsError::Bind {
                addr,
                reason: e.to_string(),
            })?;
            let bound = listener.local_addr().map_err(|e| DnsError::Bind {
                addr,
                reason: e.to_string(),
            })?;
            let state = Arc::new(HttpState {
                zone: zone.clone(),
                counters: counters.clone(),
                config: config_json(&config, dns_addr, bound),
            });
            let mut http_stop = stop_rx.clone();
            let shutdown = async move {
                let _ = http_stop.wait_for(|stopped| *stopped).await;
            };
            // Mesos-DNS's API only reads: every route is read-only.
            let auth = config
                .auth
                .for_server(|method, _| corral_http::auth::Realm::by_method(method));
            let tls = config.tls.clone();
            tasks.push(tokio::spawn(async move {
                corral_http::serve::serve(
                    listener,
                    tls.as_ref(),
                    router(state),
                    auth,
                    shutdown,
                    "DNS server",
                )
                .await;
            }));
            Some(bound)
        }
        None => None,
    };

    let ns_name = format!(
        "{}.",
        config.soa_mname.trim_end_matches('.').to_ascii_lowercase()
    );
    let ns_ip = match dns_addr.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    };
    let follow = Feed {
        zone: zone.clone(),
        masters: config.masters.clone(),
        credential: config.credential.clone(),
        tls: config.master_tls.clone(),
        etcd_tls: config.master_etcd_tls.clone(),
        naming: NamingConfig {
            domain: config.domain.trim_matches('.').to_ascii_lowercase(),
            masters: master_list(&config.masters),
            leader: None,
            ns_name,
            ns_ip,
        },
    };
    if feed {
        tasks.push(tokio::spawn(follow.run(stop_rx)));
    }
    tracing::info!(%dns_addr, http = ?http_addr, domain = %config.domain, "DNS server started");
    Ok(DnsServer {
        dns_addr,
        http_addr,
        zone,
        stop,
        tasks,
    })
}

/// `/v1/config` with Mesos-DNS's field names (config.go); Corral adds `Feed` and
/// `StaleSeconds` when it is served.
fn config_json(config: &DnsConfig, dns: SocketAddr, http: SocketAddr) -> serde_json::Value {
    let resolvers: Vec<String> = match &config.forwarding {
        Forwarding::Servers(servers) => servers.iter().map(ToString::to_string).collect(),
        Forwarding::System => vec!["/etc/resolv.conf".into()],
        Forwarding::Off => Vec::new(),
    };
    let fqdn = |s: &str| format!("{}.", s.trim_end_matches('.'));
    json!({
        "Masters": master_list(&config.masters),
        "Zk": "",
        // Corral follows the master's event stream: there is no polling period.
        "RefreshSeconds": 0,
        "TTL": config.ttl,
        "Port": dns.port(),
        "Domain": config.domain,
        "Resolvers": resolvers,
        "Timeout": config.forward_timeout.as_secs(),
        "Listener": dns.ip().to_string(),
        "HTTPListener": http.ip().to_string(),
        "HTTPPort": http.port(),
        "DnsOn": true,
        "HttpOn": true,
        "ExternalOn": config.forwarding != Forwarding::Off,
        "RecurseOn": config.forwarding != Forwarding::Off,
        "SOAMname": fqdn(&config.soa_mname),
        "SOARname": fqdn(&config.soa_rname),
        "SOARefresh": SOA_REFRESH,
        "SOARetry": SOA_RETRY,
        "SOAExpire": SOA_EXPIRE,
        "SOAMinttl": config.ttl,
        "EnumerationOn": true,
        "IPSources": ["netinfo", "mesos", "host"],
        "SRVRecordDefaultWeight": config.srv_weight,
        "EnforceRFC952": false,
        "RateLimit": config.rate_limit,
    })
}
