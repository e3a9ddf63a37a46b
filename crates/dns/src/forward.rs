//! Names outside the domain, forwarded to the configured name servers (or the host's, from
//! /etc/resolv.conf) with a timeout; at most `MAX_IN_FLIGHT` at once, past which they are
//! answered SERVFAIL at once, so slow upstreams cannot pile up tasks.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use tokio::sync::Semaphore;

use super::answer::Answer;
use super::config::Forwarding;

/// Forwarded queries waiting for an upstream answer at once.
const MAX_IN_FLIGHT: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[error("cannot set up forwarding: {0}")]
pub struct ForwardSetupError(String);

pub struct Forwarder {
    resolver: TokioResolver,
    timeout: Duration,
    in_flight: Semaphore,
}

impl Forwarder {
    /// `None` when forwarding is off.
    pub fn new(
        forwarding: &Forwarding,
        timeout: Duration,
    ) -> Result<Option<Self>, ForwardSetupError> {
        let setup = |e: NetError| ForwardSetupError(e.to_string());
        let mut builder = match forwarding {
            Forwarding::Off => return Ok(None),
            Forwarding::System => TokioResolver::builder_tokio().map_err(setup)?,
            Forwarding::Servers(servers) => {
                let config = ResolverConfig::from_parts(
                    None,
                    Vec::new(),
                    servers.iter().map(|s| name_server(*s)).collect(),
                );
                TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            }
        };
        let options = builder.options_mut();
        options.timeout = timeout;
        options.attempts = 1;
        let resolver = builder.build().map_err(setup)?;
        Ok(Some(Forwarder {
            resolver,
            timeout,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        }))
    }

    /// The upstream answer, SERVFAIL when there is none in time.
    pub async fn forward(&self, name: &Name, qtype: RecordType) -> Answer {
        let mut out = Answer::default();
        let Ok(_permit) = self.in_flight.try_acquire() else {
            out.code = ResponseCode::ServFail;
            return out;
        };
        let lookup = tokio::time::timeout(self.timeout, self.resolver.lookup(name.clone(), qtype));
        match lookup.await {
            Ok(Ok(lookup)) => out.answers = lookup.answers().to_vec(),
            Ok(Err(NetError::Dns(DnsError::NoRecordsFound(none)))) => {
                out.code = none.response_code;
                if let Some(soa) = none.soa {
                    out.authority.push(soa.into_record_of_rdata());
                }
            }
            Ok(Err(error)) => {
                tracing::debug!(%name, %error, "forwarding failed");
                out.code = ResponseCode::ServFail;
            }
            Err(_) => out.code = ResponseCode::ServFail,
        }
        out
    }
}

fn name_server(address: SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = address.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = address.port();
    NameServerConfig::new(address.ip(), true, vec![udp, tcp])
}
