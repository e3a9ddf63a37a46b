//! The IP each agent hostname resolves to, for the agents' libprocess pids in the v0 state
//! (`slave(1)@IP:PORT`, from which Mesos-DNS takes an agent's address). Looked up off the
//! core's lock, a few at a time, and remembered for a while: pollers of `/master/state`
//! (Mesos-DNS every 60 s, dashboards) would otherwise cost one lookup per agent per request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::v0_state::AgentIps;

/// How long one lookup may take; a name that does not resolve by then is left out.
const RESOLVE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long an answer (or a failure) is reused. An agent that moves to another address
/// re-registers, but its hostname usually stays; a minute matches Mesos-DNS' own refresh.
const REMEMBERED_FOR: Duration = Duration::from_secs(60);
/// Lookups in flight at once (each holds a blocking-pool thread for getaddrinfo).
const PARALLEL_LOOKUPS: usize = 16;

#[derive(Default)]
pub struct AgentIpCache {
    answers: Mutex<HashMap<String, Answer>>,
}

struct Answer {
    ip: Option<String>,
    at: Instant,
}

impl AgentIpCache {
    /// The address of each of `hostnames` that resolves (an IP literal is its own).
    pub async fn resolve(&self, hostnames: impl IntoIterator<Item = String>) -> AgentIps {
        let now = Instant::now();
        let mut ips = AgentIps::new();
        let mut missing = Vec::new();
        {
            let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
            for hostname in hostnames {
                if let Ok(ip) = hostname.parse::<IpAddr>() {
                    ips.insert(hostname, ip.to_string());
                    continue;
                }
                match answers.get(&hostname) {
                    Some(answer) if now.duration_since(answer.at) < REMEMBERED_FOR => {
                        if let Some(ip) = &answer.ip {
                            ips.insert(hostname, ip.clone());
                        }
                    }
                    _ => missing.push(hostname),
                }
            }
        }
        if missing.is_empty() {
            return ips;
        }
        let found: Vec<(String, Option<String>)> = futures::stream::iter(missing)
            .map(|hostname| async move {
                let ip = lookup(&hostname).await;
                (hostname, ip)
            })
            .buffer_unordered(PARALLEL_LOOKUPS)
            .collect()
            .await;
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        // Agents that are gone stop being asked for; their answers are dropped here.
        answers.retain(|_, answer| now.duration_since(answer.at) < REMEMBERED_FOR);
        for (hostname, ip) in found {
            if let Some(ip) = &ip {
                ips.insert(hostname.clone(), ip.clone());
            }
            answers.insert(hostname, Answer { ip, at: now });
        }
        ips
    }
}

/// The hostname's IPv4 address, or its first address.
async fn lookup(hostname: &str) -> Option<String> {
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((hostname, 0)))
        .await
        .ok()?
        .ok()?;
    let addresses: Vec<SocketAddr> = found.collect();
    let address = addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or(addresses.first())?;
    Some(address.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_are_their_own_address_and_answers_are_remembered() {
        let cache = AgentIpCache::default();
        let ips = cache
            .resolve(vec!["10.0.0.7".into(), "localhost".into()])
            .await;
        assert_eq!(ips.get("10.0.0.7").map(String::as_str), Some("10.0.0.7"));
        assert!(ips.contains_key("localhost"), "{ips:?}");
        // The second time the answer comes from memory, even for a name that no longer
        // resolves the same way.
        let remembered = {
            let mut answers = cache.answers.lock().unwrap_or_else(PoisonError::into_inner);
            let answer = answers.get_mut("localhost").expect("remembered");
            answer.ip = Some("192.0.2.1".into());
            answers.len()
        };
        assert_eq!(remembered, 1, "a literal is not stored");
        let again = cache.resolve(vec!["localhost".into()]).await;
        assert_eq!(
            again.get("localhost").map(String::as_str),
            Some("192.0.2.1")
        );
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_left_out_and_remembered_as_such() {
        let cache = AgentIpCache::default();
        let ips = cache.resolve(vec!["no-such-host.invalid".into()]).await;
        assert!(ips.is_empty());
        let answers = cache.answers.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(
            answers
                .get("no-such-host.invalid")
                .is_some_and(|a| a.ip.is_none())
        );
    }
}
