//! Ending a dead leader's term early, for every elected component (masters, services).
//!
//! A leader killed with SIGKILL cannot resign, and waiting for its lease to expire (TTL >= 2
//! s) would dominate failover time. So followers probe the leader's advertised `host:port`
//! (a TCP connect, each poll): when it is *refused* [`REFUSALS_TO_REVOKE`] times in a row,
//! after having answered in this term, nothing listens there any more — the process is gone
//! while its host is up — and the follower revokes the leader's lease (only while its key
//! still has the create revision it saw, see [`Election::revoke_dead_leader`]), so the next
//! candidate leads at once. Only a refusal counts: a timeout (a partition, a paused or
//! overloaded leader, whose kernel still accepts connections) or a name that does not
//! resolve says nothing, and then only the lease ends the term. Revoking by mistake would
//! still be safe: every store write is fenced on the leader key, so a deposed leader cannot
//! write, and it loses its term and follows. Requiring one answer first keeps a leader whose
//! advertised address is not reachable from followers from being revoked.

use std::time::Duration;

use crate::{Election, LeaderRecord};

/// How long a probe of the leader's port may take; a timeout never counts as dead.
const PROBE_TIMEOUT: Duration = Duration::from_millis(200);
/// Consecutive refused connections after which a follower takes the leader as dead.
pub const REFUSALS_TO_REVOKE: u32 = 2;
/// The pause before probing a port that refused once again.
const REPROBE: Duration = Duration::from_millis(20);

/// What a follower learnt of the current leader's term by probing its port.
#[derive(Debug, Default)]
pub struct LeaderLiveness {
    term: Option<LeaderRecord>,
    answered: bool,
    refusals: u32,
}

/// One connection attempt to a leader's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Answered,
    Refused,
    /// A timeout, an unresolvable name, another error: says nothing about the leader.
    Unknown,
}

impl LeaderLiveness {
    /// One poll of a follower at `own_address`: the leader the store names, unless its port
    /// refuses connections (then none; its lease is revoked once that is confirmed). The store
    /// naming `own_address` under a lease this process does not hold means a previous process
    /// here, which cannot be alive since this one holds the port: its term ends at once. When
    /// the store cannot say (no quorum), nobody is named, so no stale leader is followed.
    pub async fn follow(
        &mut self,
        election: &Election,
        own_address: &str,
        what: &str,
    ) -> Option<String> {
        let record = match election.leader_record().await {
            Ok(record) => record,
            Err(error) => {
                tracing::debug!(%error, "cannot read the {what} leader");
                None
            }
        };
        let Some(record) = record else {
            *self = LeaderLiveness::default();
            return None;
        };
        if record.address == own_address {
            *self = LeaderLiveness::default();
            if !election.is_own(&record)
                && matches!(election.revoke_dead_leader(&record).await, Ok(true))
            {
                tracing::warn!(
                    "the store named this {what}'s address as leader under an old lease (a \
                     previous process here); revoked it"
                );
            }
            return Some(record.address);
        }
        let refusing = self.check(election, &record, what).await;
        (!refusing).then_some(record.address)
    }

    /// Probes the leader's port, and revokes its lease once it has refused
    /// [`REFUSALS_TO_REVOKE`] connections in a row after answering in this term (a refusal is
    /// confirmed [`REPROBE`] later, not a poll later). `what` names the component in the log.
    /// Whether its port refuses connections now.
    async fn check(&mut self, election: &Election, record: &LeaderRecord, what: &str) -> bool {
        if self.term.as_ref() != Some(record) {
            *self = LeaderLiveness {
                term: Some(record.clone()),
                ..LeaderLiveness::default()
            };
        }
        loop {
            match probe(&record.address).await {
                Probe::Answered => {
                    self.answered = true;
                    self.refusals = 0;
                }
                Probe::Unknown => self.refusals = 0,
                Probe::Refused => self.refusals += 1,
            }
            if !self.answered || self.refusals == 0 {
                return false;
            }
            if self.refusals >= REFUSALS_TO_REVOKE {
                break;
            }
            tokio::time::sleep(REPROBE).await;
        }
        self.refusals = 0;
        match election.revoke_dead_leader(record).await {
            Ok(true) => tracing::warn!(
                "the {what} leader at {} refuses connections (its process is gone); \
                 revoked its lease so that a new leader is elected now",
                record.address
            ),
            Ok(false) => {}
            Err(error) => tracing::debug!(%error, "cannot revoke the dead leader's lease"),
        }
        true
    }
}

/// Connects to `address` once.
pub async fn probe(address: &str) -> Probe {
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => Probe::Answered,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Probe::Refused,
        _ => Probe::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listening_port_answers_and_a_closed_one_refuses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        assert_eq!(probe(&address).await, Probe::Answered);
        drop(listener);
        assert_eq!(probe(&address).await, Probe::Refused);
        assert_eq!(probe("no-such-host.invalid:1").await, Probe::Unknown);
    }
}
