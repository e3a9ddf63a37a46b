//! Leader election among masters on one etcd prefix (etcd's election API over a lease).
//!
//! A master campaigns with its advertised `host:port` as the value; the winner holds a
//! [`Term`]: the election key (whose create revision fences every registry write, see
//! [`super::EtcdStore::fenced`]) and a lease kept alive in the background. The term is lost
//! when etcd says the lease is gone or when no keep-alive has succeeded for a whole TTL: a
//! master that cannot prove it still leads stops acting as leader.

use std::time::Duration;

use etcd_client::{Client, ConnectOptions, ElectionClient, KvClient, LeaseClient};
use tokio::sync::watch;
use tokio::time::Instant;

use super::etcd_error::{describe, is_tls};
use super::{EtcdTls, StateError};

/// The election's name under the registry prefix (etcd adds `/<lease id>` per candidate).
pub const ELECTION_NAME: &str = "leader";
/// How long an answer from etcd may take before the member is taken as unreachable.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Election {
    /// The election's own runtime thread: the etcd connection and the lease keep-alive run
    /// there, so a master whose main threads are busy (a re-registration storm holding the
    /// core) still keeps its lease alive.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    /// No request timeout: a campaign waits as long as another master leads.
    election: ElectionClient,
    lease: LeaseClient,
    kv: KvClient,
    name: String,
    ttl: Duration,
    endpoints: String,
    /// The `--state` text it came from (`etcd://` or `etcd+tls://`), for TLS errors.
    location: String,
    /// The lease of this candidate's latest campaign (0: none yet), so a follower can tell
    /// its own key from one a previous process at the same address left behind.
    own_lease: std::sync::atomic::AtomicI64,
}

/// The leader as etcd records it: its address and what identifies its term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderRecord {
    /// The leader's advertised `host:port`.
    pub address: String,
    /// Its election key and that key's create revision (which fences its writes).
    pub key: Vec<u8>,
    pub create_revision: i64,
    /// The lease its key lives on.
    pub lease: i64,
}

/// One term of leadership. Dropping it stops the keep-alive (the lease then expires);
/// [`Election::resign`] ends it at once.
pub struct Term {
    /// The election key this master created; its create revision fences writes.
    pub key: Vec<u8>,
    pub revision: i64,
    pub lease: i64,
    lost: watch::Receiver<bool>,
    keep_alive: tokio::task::JoinHandle<()>,
}

impl Term {
    /// Resolves when the lease is gone or could not be kept alive within its TTL.
    pub async fn lost(&mut self) {
        let _ = self.lost.wait_for(|lost| *lost).await;
    }

    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        self.keep_alive.abort();
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        // Dropping a runtime may block, which async code must not; let it wind down alone.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Election {
    /// Connects to etcd for elections on `prefix` with leases of `ttl` (whole seconds, at
    /// least 2: etcd's own minimum is about 1.5 s).
    pub async fn connect(
        endpoints: &[String],
        prefix: &str,
        ttl: Duration,
        tls: Option<&EtcdTls>,
    ) -> Result<Self, StateError> {
        let location = super::etcd_store::location(endpoints, tls);
        let open_error = |reason: String| StateError::Open {
            location: location.clone(),
            reason,
        };
        let urls = super::etcd_store::endpoint_urls(endpoints, tls);
        let mut options = ConnectOptions::new()
            .with_connect_timeout(ANSWER_TIMEOUT)
            .with_keep_alive(Duration::from_secs(1), ANSWER_TIMEOUT)
            .with_keep_alive_while_idle(true)
            // A member cut off from its cluster's quorum refuses rather than hangs.
            .with_require_leader(true);
        if let Some(tls) = tls {
            options = options.with_tls(tls.options());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("corral-election")
            .enable_all()
            .build()
            .map_err(|e| open_error(format!("cannot start the election thread: {e}")))?;
        // Connected from the election's runtime, so the connection's tasks live there.
        let connect = runtime.spawn(async move {
            tokio::time::timeout(ANSWER_TIMEOUT * 2, Client::connect(&urls, Some(options))).await
        });
        let client = connect
            .await
            .map_err(|e| open_error(e.to_string()))?
            .map_err(|_| open_error("no answer to connect".into()))?
            .map_err(|e| super::etcd_store::connect_error(&location, &e))?;
        Ok(Election {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            election: client.election_client(),
            lease: client.lease_client(),
            kv: client.kv_client(),
            name: format!("{prefix}{ELECTION_NAME}"),
            ttl: ttl.max(Duration::from_secs(2)),
            endpoints: endpoints.join(","),
            location,
            own_lease: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// The election's own runtime: work that must stay timely while the master's threads are
    /// busy (following the leader, probing it) runs there.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    fn failure(&self, what: &str, e: impl std::fmt::Display) -> StateError {
        StateError::Election {
            reason: format!("{what} at etcd {}: {e}", self.endpoints),
        }
    }

    /// [`Election::failure`] of an etcd error, with its whole cause; a TLS failure is
    /// [`StateError::Tls`].
    fn etcd_failure(&self, what: &str, e: &etcd_client::Error) -> StateError {
        if is_tls(e) {
            return StateError::Tls {
                location: self.location.clone(),
                reason: format!("{what}: {}", describe(e)),
            };
        }
        self.failure(what, describe(e))
    }

    /// Waits until this candidate leads; `value` (the advertised `host:port`) is what
    /// followers and clients read as the leader's address.
    pub async fn campaign(&self, value: &str) -> Result<Term, StateError> {
        let ttl_secs = self.ttl.as_secs() as i64;
        let mut lease = self.lease.clone();
        let granted = tokio::time::timeout(ANSWER_TIMEOUT, lease.grant(ttl_secs, None))
            .await
            .map_err(|_| self.failure("lease grant", "no answer"))?
            .map_err(|e| self.etcd_failure("lease grant", &e))?;
        let lease_id = granted.id();
        // Stored before the key exists, so whoever reads that key finds it here already.
        self.own_lease
            .store(lease_id, std::sync::atomic::Ordering::SeqCst);
        // Keep the lease alive while waiting too: a campaign can wait for a long time.
        let (lost_tx, lost) = watch::channel(false);
        let keep_alive = self
            .handle
            .spawn(keep_alive(lease.clone(), lease_id, self.ttl, lost_tx));
        let mut election = self.election.clone();
        let campaign = election.campaign(self.name.clone(), value, lease_id);
        let mut watch_lost = lost.clone();
        let response = tokio::select! {
            response = campaign => response.map_err(|e| self.etcd_failure("campaign", &e)),
            _ = watch_lost.wait_for(|lost| *lost) => Err(self.failure("campaign", "the lease expired while waiting")),
        };
        let leader = match response.map(|mut r| r.take_leader()) {
            Ok(Some(leader)) => leader,
            Ok(None) => {
                keep_alive.abort();
                return Err(self.failure("campaign", "no leader key in the answer"));
            }
            Err(e) => {
                keep_alive.abort();
                let _ = tokio::time::timeout(ANSWER_TIMEOUT, lease.revoke(lease_id)).await;
                return Err(e);
            }
        };
        Ok(Term {
            key: leader.key().to_vec(),
            revision: leader.rev(),
            lease: lease_id,
            lost,
            keep_alive,
        })
    }

    /// Ends a term at once (the key goes with the lease), so another master can lead
    /// without waiting for the TTL. Best effort: an unreachable etcd lets the lease expire.
    pub async fn resign(&self, term: Term) {
        term.keep_alive.abort();
        let mut lease = self.lease.clone();
        let _ = tokio::time::timeout(ANSWER_TIMEOUT, lease.revoke(term.lease)).await;
    }

    /// Whether `record` is a term of this very candidate (its latest campaign's lease).
    pub fn is_own(&self, record: &LeaderRecord) -> bool {
        record.lease == self.own_lease.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The current leader's value (its `host:port`), if any master leads.
    pub async fn leader(&self) -> Result<Option<String>, StateError> {
        Ok(self.leader_record().await?.map(|record| record.address))
    }

    /// The current leader with its election key, create revision and lease, if any leads.
    pub async fn leader_record(&self) -> Result<Option<LeaderRecord>, StateError> {
        let mut election = self.election.clone();
        match tokio::time::timeout(ANSWER_TIMEOUT, election.leader(self.name.clone())).await {
            Err(_) => Err(self.failure("leader lookup", "no answer")),
            Ok(Err(etcd_client::Error::GRpcStatus(status)))
                if status.message().contains("no leader") =>
            {
                Ok(None)
            }
            Ok(Err(e)) => Err(self.etcd_failure("leader lookup", &e)),
            Ok(Ok(mut response)) => Ok(response.take_kv().map(|kv| LeaderRecord {
                address: String::from_utf8_lossy(kv.value()).into_owned(),
                key: kv.key().to_vec(),
                create_revision: kv.create_revision(),
                lease: kv.lease(),
            })),
        }
    }

    /// Ends the term of a leader found dead (see `master::leader`): revokes its lease, so its
    /// key goes and the next candidate leads without waiting for the TTL. Only while its key
    /// still has the create revision and lease `seen` recorded, so a newer leader is never
    /// touched (a revoke names one lease, which only that old term held). Returns whether
    /// it revoked.
    pub async fn revoke_dead_leader(&self, seen: &LeaderRecord) -> Result<bool, StateError> {
        let mut kv = self.kv.clone();
        let current = tokio::time::timeout(ANSWER_TIMEOUT, kv.get(seen.key.clone(), None))
            .await
            .map_err(|_| self.failure("leader key read", "no answer"))?
            .map_err(|e| self.etcd_failure("leader key read", &e))?;
        let still_there = current.kvs().first().is_some_and(|kv| {
            kv.create_revision() == seen.create_revision && kv.lease() == seen.lease
        });
        if !still_there {
            return Ok(false);
        }
        let mut lease = self.lease.clone();
        match tokio::time::timeout(ANSWER_TIMEOUT, lease.revoke(seen.lease)).await {
            Err(_) => Err(self.failure("lease revoke", "no answer")),
            // Expired or revoked meanwhile: the term ended anyway.
            Ok(Err(etcd_client::Error::GRpcStatus(status)))
                if status.message().contains("lease not found") =>
            {
                Ok(false)
            }
            Ok(Err(e)) => Err(self.etcd_failure("lease revoke", &e)),
            Ok(Ok(_)) => Ok(true),
        }
    }
}

/// Refreshes the lease every TTL/3. Marks the term lost when etcd answers that the lease is
/// gone (TTL 0) or when no refresh has succeeded for a whole TTL.
async fn keep_alive(
    mut lease: LeaseClient,
    lease_id: i64,
    ttl: Duration,
    lost: watch::Sender<bool>,
) {
    let mut last_ok = Instant::now();
    let period = ttl / 3;
    let mut channel = None;
    loop {
        if last_ok.elapsed() >= ttl {
            tracing::warn!("the leader lease could not be kept alive within {ttl:?}");
            lost.send_replace(true);
            return;
        }
        if channel.is_none() {
            // Reopening, too, never waits past the lease's expiry: the loss is noticed in time.
            let budget = ttl.saturating_sub(last_ok.elapsed()).min(ANSWER_TIMEOUT);
            channel = tokio::time::timeout(budget, lease.keep_alive(lease_id))
                .await
                .ok()
                .and_then(Result::ok);
        }
        if let Some((keeper, stream)) = channel.as_mut() {
            let refreshed = async {
                keeper.keep_alive().await?;
                stream.message().await
            };
            // Never wait past the lease's own expiry for an answer.
            let budget = ttl.saturating_sub(last_ok.elapsed()).min(ANSWER_TIMEOUT);
            match tokio::time::timeout(budget, refreshed).await {
                Ok(Ok(Some(answer))) if answer.ttl() > 0 => last_ok = Instant::now(),
                Ok(Ok(Some(_))) => {
                    tracing::warn!("etcd says the leader lease has expired");
                    lost.send_replace(true);
                    return;
                }
                _ => channel = None,
            }
        }
        let next = if channel.is_some() {
            period
        } else {
            Duration::from_millis(200)
        };
        tokio::time::sleep(next.min(ttl.saturating_sub(last_ok.elapsed()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EtcdStore, StateError, StateStore, WriteOp};
    use super::*;
    use crate::etcd_test_server::EtcdServer;

    fn put(key: &str) -> Vec<WriteOp> {
        vec![WriteOp::Put {
            key: key.into(),
            value: b"v".to_vec(),
        }]
    }

    /// Two masters campaign: one leads, the other waits; when the first resigns the second
    /// leads, and the first's fenced writes are refused (and mark it deposed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_leader_at_a_time_and_a_deposed_one_cannot_write() {
        let server = EtcdServer::start();
        let endpoints = std::slice::from_ref(&server.endpoint);
        let ttl = Duration::from_secs(2);
        let a = Election::connect(endpoints, "/ha/", ttl, None)
            .await
            .expect("a");
        let b = Election::connect(endpoints, "/ha/", ttl, None)
            .await
            .expect("b");
        let store = EtcdStore::connect(endpoints, "/ha/", None)
            .await
            .expect("store");
        assert_eq!(a.leader().await.expect("lookup"), None, "nobody leads yet");

        let term_a = a.campaign("127.0.0.1:1").await.expect("a leads");
        assert_eq!(
            a.leader().await.expect("lookup").as_deref(),
            Some("127.0.0.1:1")
        );
        let (deposed_a, deposed_a_rx) = watch::channel(false);
        let fenced_a = store.fenced(term_a.key.clone(), term_a.revision, deposed_a);
        fenced_a
            .apply(put("agents/x"))
            .await
            .expect("the leader writes");

        // b waits while a keeps its lease alive past several TTLs.
        let waiting = tokio::spawn(async move {
            let term = b.campaign("127.0.0.1:2").await.expect("b leads");
            (b, term)
        });
        tokio::time::sleep(ttl * 2).await;
        assert!(!waiting.is_finished(), "b must not lead while a does");
        assert!(!term_a.is_lost());

        a.resign(term_a).await;
        let (b, term_b) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("b leads soon after a resigns")
            .expect("join");
        assert_eq!(
            b.leader().await.expect("lookup").as_deref(),
            Some("127.0.0.1:2")
        );

        let err = fenced_a
            .apply(put("agents/y"))
            .await
            .expect_err("the deposed leader cannot write");
        assert!(matches!(err, StateError::Fenced { .. }), "{err}");
        assert!(*deposed_a_rx.borrow(), "the refused write marks a deposed");
        assert_eq!(store.get("agents/y").await.expect("get"), None);

        let (deposed_b, _rx) = watch::channel(false);
        let fenced_b = store.fenced(term_b.key.clone(), term_b.revision, deposed_b);
        fenced_b
            .apply(put("agents/z"))
            .await
            .expect("the new leader writes");
    }

    /// A leader whose lease runs out (etcd gone) learns it within the TTL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_that_cannot_reach_etcd_loses_its_term() {
        let server = EtcdServer::start();
        let endpoints = std::slice::from_ref(&server.endpoint);
        let ttl = Duration::from_secs(2);
        let a = Election::connect(endpoints, "/ha/", ttl, None)
            .await
            .expect("a");
        let mut term = a.campaign("127.0.0.1:1").await.expect("a leads");
        drop(server);
        tokio::time::timeout(ttl + Duration::from_secs(2), term.lost())
            .await
            .expect("the term is lost within the TTL (and a little)");
    }

    /// A follower that finds the leader dead revokes its term and the next candidate leads
    /// at once; a record of an older term never touches the newer leader.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_a_dead_leader_elects_the_next_and_spares_a_newer_one() {
        let server = EtcdServer::start();
        let endpoints = std::slice::from_ref(&server.endpoint);
        // A long lease: only the revoke can end a's term within the test.
        let ttl = Duration::from_secs(30);
        let a = Election::connect(endpoints, "/ha/", ttl, None)
            .await
            .expect("a");
        let b = Election::connect(endpoints, "/ha/", ttl, None)
            .await
            .expect("b");
        let c = Election::connect(endpoints, "/ha/", ttl, None)
            .await
            .expect("c");
        let term_a = a.campaign("127.0.0.1:1").await.expect("a leads");
        let seen_a = b.leader_record().await.expect("lookup").expect("a leader");
        assert_eq!(seen_a.address, "127.0.0.1:1");
        assert_eq!(seen_a.lease, term_a.lease);
        assert_eq!(seen_a.create_revision, term_a.revision);

        let waiting = tokio::spawn(async move {
            let term = b.campaign("127.0.0.1:2").await.expect("b leads");
            (b, term)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "b waits while a's key is there");

        assert!(c.revoke_dead_leader(&seen_a).await.expect("revoke"));
        let (b, term_b) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("b leads at once, not after the 30 s lease")
            .expect("join");
        assert_eq!(
            c.leader().await.expect("lookup").as_deref(),
            Some("127.0.0.1:2")
        );

        // The same stale record again (a slow follower): b's term is untouched.
        assert!(!c.revoke_dead_leader(&seen_a).await.expect("no-op"));
        assert_eq!(
            c.leader().await.expect("lookup").as_deref(),
            Some("127.0.0.1:2")
        );
        assert!(!term_b.is_lost());
        drop(term_a);
        b.resign(term_b).await;
    }
}
