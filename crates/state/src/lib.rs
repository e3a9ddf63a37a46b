//! Where the master keeps hard state: one key per object under a prefix. [`StateStore`] has
//! an embedded backend (redb, for `corral dev` and single masters) and etcd (for HA).

use futures::future::BoxFuture;

#[cfg(test)]
mod conformance;
pub mod election;
mod etcd_error;
pub mod etcd_launcher;
pub mod etcd_store;
/// A real etcd in a temp dir, for the tests of this crate and of the crates above it.
#[cfg(any(test, feature = "test-support"))]
pub mod etcd_test_server;
pub mod etcd_tls;
pub mod leader_liveness;
pub mod loopback_port;
pub mod memory;
pub mod redb_store;
pub mod spec;

pub use election::{Election, LeaderRecord, Term};
pub use etcd_store::{EtcdStore, FencedEtcdStore};
pub use etcd_tls::{EtcdTls, EtcdTlsError, EtcdTlsFiles};
pub use memory::MemoryStore;
pub use redb_store::RedbStore;
pub use spec::StateSpec;

/// Whether a `--master` or `--state` value names an etcd cluster (`etcd://h1:2379,...`, or
/// `etcd+tls://` for one that speaks TLS) rather than masters or a local path.
pub fn names_etcd(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with("etcd://") || text.starts_with("etcd+tls://")
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store at {location} cannot be opened: {reason}")]
    Open { location: String, reason: String },
    #[error("state store read of '{key}' failed: {reason}")]
    Read { key: String, reason: String },
    #[error("state store write failed: {reason}")]
    Write { reason: String },
    #[error("value under '{key}' does not parse: {reason}")]
    Corrupt { key: String, reason: String },
    /// A fenced write found that this master no longer holds the election key.
    #[error("registry write refused: this master is no longer the leader ({reason})")]
    Fenced { reason: String },
    #[error("leader election failed: {reason}")]
    Election { reason: String },
    /// TLS to etcd failed (a certificate not trusted either way, a peer not speaking TLS):
    /// retrying with the same files does not help.
    #[error("TLS to etcd at {location} failed: {reason}")]
    Tls { location: String, reason: String },
}

/// One write of an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

/// Keys with their values, in key order.
pub type Entries = Vec<(String, Vec<u8>)>;

/// A small key-value store. Batches are atomic: all of `apply` lands or none does.
pub trait StateStore: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StateError>>;
    /// Every key starting with `prefix`, in key order.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Entries, StateError>>;
    fn apply<'a>(&'a self, ops: Vec<WriteOp>) -> BoxFuture<'a, Result<(), StateError>>;
}
