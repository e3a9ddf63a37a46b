//! Agent pings, the I/O half of partitions: the master pings every connected agent (`GET
//! /health` on the agent) every `ping_timeout`; an agent that misses `max_ping_timeouts`
//! pings in a row is handed to the core (`MasterCore::mark_agent_unreachable`, in
//! `partitions.rs`), and its stream is ended.
//!
//! Only a ping that times out is a miss: an agent whose advertised `hostname:port` refuses
//! or does not resolve from the master is not judged by pings (its stream still tells when
//! it goes away).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::effects::StreamId;
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

/// Pings every connected agent each `ping_timeout`; marks the silent ones unreachable.
pub async fn ping_loop(shared: Arc<Shared>, config: PartitionConfig) {
    let http = match corral_client::client_tls::client_builder()
        .timeout(config.ping_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "cannot build the agent ping client; agents are not pinged");
            return;
        }
    };
    let mut misses: HashMap<StreamId, u32> = HashMap::new();
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
        let pings = agents.iter().map(|(_, _, addr)| {
            let request = http.get(format!("http://{addr}/health")).send();
            async move {
                match request.await {
                    // Only silence counts: an address that refuses or does not resolve
                    // (an agent advertising a hostname this master cannot reach it by)
                    // says nothing about the agent, whose stream is still open.
                    Err(e) if !e.is_timeout() => {
                        tracing::debug!(%addr, error = %e, "agent ping not delivered");
                        true
                    }
                    Err(_) => false,
                    Ok(r) => r.status().is_success(),
                }
            }
        });
        let answered = futures::future::join_all(pings).await;
        let live: BTreeSet<StreamId> = agents.iter().map(|(_, s, _)| *s).collect();
        misses.retain(|stream, _| live.contains(stream));
        for ((agent_id, stream, _), ok) in agents.into_iter().zip(answered) {
            if ok {
                misses.remove(&stream);
                continue;
            }
            let missed = misses.entry(stream).or_insert(0);
            *missed += 1;
            if *missed >= config.max_ping_timeouts {
                misses.remove(&stream);
                let marked = shared
                    .with_core(|core, now| core.mark_agent_unreachable(now, &agent_id, stream));
                if marked {
                    // Ending the stream makes the agent re-register when it is back.
                    shared.close_agent_stream(stream);
                }
            }
        }
    }
}
