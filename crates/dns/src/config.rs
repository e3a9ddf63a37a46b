//! The DNS server's settings, with Mesos-DNS's defaults (config.go) where it has them.

use std::net::SocketAddr;
use std::time::Duration;

/// Where names outside the domain go.
#[derive(Debug, Clone, PartialEq)]
pub enum Forwarding {
    /// REFUSED, as Mesos-DNS without resolvers.
    Off,
    /// The name servers of the host's /etc/resolv.conf.
    System,
    /// These name servers (`IP:port`).
    Servers(Vec<SocketAddr>),
}

#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// `--master`: one master, a comma-separated list, or `etcd://...` (the leader is found
    /// and followed across failovers).
    pub masters: String,
    /// The domain served (`mesos`).
    pub domain: String,
    /// DNS on UDP and TCP (port 0: a free port, the same for both).
    pub listen: SocketAddr,
    /// Mesos-DNS's HTTP API; `None`: off.
    pub http_listen: Option<SocketAddr>,
    /// Seconds answers may be cached (Mesos-DNS: 60).
    pub ttl: u32,
    pub forwarding: Forwarding,
    /// How long a forwarded query may take (Mesos-DNS: 5 s).
    pub forward_timeout: Duration,
    /// Queries per second one source address may send (0: no limit); past it its queries
    /// are dropped, so a flood from one source costs the others nothing.
    pub rate_limit: u32,
    /// SOA MNAME and RNAME, without the trailing dot (Mesos-DNS: `ns1.mesos`,
    /// `root.ns1.mesos`).
    pub soa_mname: String,
    pub soa_rname: String,
    /// SRV records' weight (Mesos-DNS's `SRVRecordDefaultWeight`: 1).
    pub srv_weight: u16,
    /// The principal and secret presented to the master (`--credential`).
    pub credential: Option<corral_http::auth::Credential>,
    /// Who may call the HTTP API (`--credentials`, `--tokens`, `--authenticate-http-*`).
    pub auth: corral_http::auth::AuthConfig,
    /// Serve the HTTP API over TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    pub tls: Option<corral_http::ServerTls>,
    /// What the master is trusted and presented over https (`--tls-ca`, ...).
    pub master_tls: Option<corral_client::ClientTls>,
    /// What the masters' etcd is read over, with `--master etcd://` (`--etcd-ca`, ...).
    pub master_etcd_tls: Option<corral_client::EtcdTls>,
}

/// Mesos-DNS's SOA timers (seconds).
pub const SOA_REFRESH: i32 = 60;
pub const SOA_RETRY: i32 = 600;
pub const SOA_EXPIRE: i32 = 86_400;

impl DnsConfig {
    /// Mesos-DNS's defaults for `domain`, serving on `listen`.
    pub fn new(masters: &str, listen: SocketAddr) -> Self {
        DnsConfig {
            masters: masters.to_string(),
            domain: "mesos".into(),
            listen,
            http_listen: None,
            ttl: 60,
            forwarding: Forwarding::System,
            forward_timeout: Duration::from_secs(5),
            rate_limit: 0,
            soa_mname: "ns1.mesos".into(),
            soa_rname: "root.ns1.mesos".into(),
            srv_weight: 1,
            credential: None,
            auth: Default::default(),
            tls: None,
            master_tls: None,
            master_etcd_tls: None,
        }
    }

    /// The domain as a fully qualified name, lowercase (`mesos.`).
    pub fn domain_fqdn(&self) -> String {
        format!("{}.", self.domain.trim_matches('.').to_ascii_lowercase())
    }
}
