//! Agent pings, the I/O half of partitions: the master pings every connected agent (`GET
//! /health` on the agent) every `ping_timeout`; an agent that misses `max_ping_timeouts`
//! pings in a row is handed to the core (`MasterCore::mark_agent_unreachable`, in
//! `partitions.rs`), and its stream is ended.
//!
//! Only a ping that times out is a miss: an agent whose advertised `hostname:port` refuses
//! or does not resolve from the master is not judged by pings (its stream still tells when
//! it goes away). An agent serving TLS (it said `"scheme": "https"` when it subscribed) is
//! pinged over https (`agent_clients.rs`); one the master cannot verify, or that refuses the
//! master's certificate, misses its pings, and the master says why once.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::agent_clients::{AgentClients, Presenting, is_tls_failure};
use super::effects::StreamId;
use super::partitions::ConnectedAgent;
use super::shell::Shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionConfig {
    pub ping_timeout: Duration,
    pub max_ping_timeouts: u32,
}

impl Default for PartitionConfig {
    /// Mesos' defaults: 15 s x 5.
    fn default() -> Self {
        PartitionConfig {
            ping_timeout: Duration::from_secs(15),
            max_ping_timeouts: 5,
        }
    }
}

/// Pings every connected agent each `ping_timeout` (over https, trusting and presenting
/// `agent_tls`, for agents serving TLS); marks the silent ones unreachable.
pub async fn ping_loop(
    shared: Arc<Shared>,
    config: PartitionConfig,
    agent_tls: Option<corral_client::ClientTls>,
) {
    let clients = AgentClients::new(agent_tls.as_ref(), |builder| {
        builder
            .timeout(config.ping_timeout)
            .redirect(reqwest::redirect::Policy::none())
    });
    let clients = match clients {
        Ok(clients) => clients,
        Err(error) => {
            tracing::error!(%error, "cannot build the agent ping client; agents are not pinged");
            return;
        }
    };
    let mut misses: HashMap<StreamId, u32> = HashMap::new();
    // Agents whose https pings fail for a reason worth an operator's look, said once (again
    // after a ping that succeeds).
    let mut warned: HashSet<StreamId> = HashSet::new();
    let mut stop = shared.stop_signal();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(config.ping_timeout) => {}
            _ = stop.changed() => return,
        }
        if shared.stopping() {
            return;
        }
        let agents = shared.with_core(|core, _| core.connected_agents());
        let pings = agents.iter().map(|agent| ping(&clients, agent));
        let answered = futures::future::join_all(pings).await;
        let live: BTreeSet<StreamId> = agents.iter().map(|a| a.stream).collect();
        misses.retain(|stream, _| live.contains(stream));
        warned.retain(|stream| live.contains(stream));
        for (agent, outcome) in agents.into_iter().zip(answered) {
            let stream = agent.stream;
            let failure = match outcome {
                Ping::Answered => {
                    misses.remove(&stream);
                    warned.remove(&stream);
                    continue;
                }
                Ping::Missed => None,
                Ping::Failed(reason) => Some(reason),
            };
            if let Some(reason) = failure
                && warned.insert(stream)
            {
                tracing::warn!(agent = %agent.id, address = %agent.address, %reason,
                    "cannot ping the agent over https; its pings count as missed");
            }
            let missed = misses.entry(stream).or_insert(0);
            *missed += 1;
            if *missed >= config.max_ping_timeouts {
                misses.remove(&stream);
                let marked = shared
                    .with_core(|core, now| core.mark_agent_unreachable(now, &agent.id, stream));
                if marked {
                    // Ending the stream makes the agent re-register when it is back.
                    shared.close_agent_stream(stream);
                }
            }
        }
    }
}

/// What a ping came to.
enum Ping {
    /// A success status; or an address that refuses or does not resolve (an agent
    /// advertising a hostname this master cannot reach it by), which says nothing about the
    /// agent, whose stream is still open.
    Answered,
    /// Silence, or an error status.
    Missed,
    /// An https agent that cannot be verified (no CA, a certificate the CA did not sign) or
    /// that refused the master's certificate: a miss, with the reason.
    Failed(String),
}

async fn ping(clients: &AgentClients, agent: &ConnectedAgent) -> Ping {
    let http = match clients.client(agent.scheme, Presenting::Master) {
        Ok(http) => http,
        Err(reason) => return Ping::Failed(reason.to_string()),
    };
    let url = agent.scheme.url(&agent.address, "/health");
    match http.get(&url).send().await {
        Err(e) if is_tls_failure(&e) => {
            Ping::Failed(format!("the TLS handshake failed: {}", chain(&e)))
        }
        Err(e) if !e.is_timeout() => {
            tracing::debug!(%url, error = %e, "agent ping not delivered");
            Ping::Answered
        }
        Err(_) => Ping::Missed,
        Ok(r) if r.status().is_success() => Ping::Answered,
        Ok(_) => Ping::Missed,
    }
}

/// `error` and its sources, for a log line that says what the TLS layer said.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
