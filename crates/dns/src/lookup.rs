//! Asking a DNS server one question with hickory-resolver (`corral dns lookup`): what a
//! client of the server would be told.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
pub use hickory_proto::rr::RecordType;
use hickory_proto::rr::{Name, RData};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("'{0}' is not a DNS name")]
    BadName(String),
    #[error("{name}: {code} (the server at {server} has no {kind} record for it)")]
    NoRecords {
        name: String,
        kind: RecordType,
        code: ResponseCode,
        server: SocketAddr,
    },
    #[error("the DNS server at {server} did not answer: {reason}")]
    Failed { server: SocketAddr, reason: String },
}

/// One answer, printable.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    A {
        name: String,
        ip: std::net::Ipv4Addr,
    },
    Srv {
        name: String,
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Other {
        name: String,
        text: String,
    },
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::A { name, ip } => write!(f, "{name}\tA\t{ip}"),
            Found::Srv {
                name,
                priority,
                weight,
                port,
                target,
            } => write!(f, "{name}\tSRV\t{priority} {weight} {port} {target}"),
            Found::Other { name, text } => write!(f, "{name}\t{text}"),
        }
    }
}

/// Asks `server` for `name`'s records of type `kind` (no search domains, no cache).
pub async fn lookup(
    server: SocketAddr,
    name: &str,
    kind: RecordType,
    timeout: Duration,
) -> Result<Vec<Found>, LookupError> {
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    let name = Name::from_ascii(&fqdn).map_err(|_| LookupError::BadName(name.to_string()))?;
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let config = ResolverConfig::from_parts(
        None,
        Vec::new(),
        vec![NameServerConfig::new(server.ip(), true, vec![udp, tcp])],
    );
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    options.cache_size = 0;
    let resolver = builder.build().map_err(|e| LookupError::Failed {
        server,
        reason: e.to_string(),
    })?;
    match resolver.lookup(name.clone(), kind).await {
        Ok(found) => Ok(found
            .answers()
            .iter()
            .map(|record| {
                let owner = record.name.to_ascii();
                match &record.data {
                    RData::A(a) => Found::A {
                        name: owner,
                        ip: a.0,
                    },
                    RData::SRV(srv) => Found::Srv {
                        name: owner,
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: srv.target.to_ascii(),
                    },
                    other => Found::Other {
                        name: owner,
                        text: format!("{} {other}", other.record_type()),
                    },
                }
            })
            .collect()),
        Err(NetError::Dns(DnsError::NoRecordsFound(none))) => Err(LookupError::NoRecords {
            name: fqdn,
            kind,
            code: none.response_code,
            server,
        }),
        Err(error) => Err(LookupError::Failed {
            server,
            reason: error.to_string(),
        }),
    }
}
