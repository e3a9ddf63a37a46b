//! `--state`: where a master keeps its registry (`file://PATH`, `memory`,
//! `etcd://H:P[,H:P...][/PREFIX/]`, `etcd+tls://...` for TLS), parsed once with the TLS
//! files read (`--etcd-ca`, ...) and opened with bounded patience for an etcd that is not
//! up yet.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::etcd_store::DEFAULT_PREFIX;
use crate::{EtcdStore, EtcdTls, MemoryStore, RedbStore, StateError, StateStore};

/// How long a starting master keeps trying to reach etcd before it gives up.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// Where the master keeps its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSpec {
    /// redb file.
    File(PathBuf),
    /// In memory only (tests).
    Memory,
    /// An etcd cluster (`host:port` each); every key under `prefix`; over TLS with `tls`.
    Etcd {
        endpoints: Vec<String>,
        prefix: String,
        tls: Option<EtcdTls>,
    },
}

/// A `--state` (or `etcd://` `--master`) value that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadStateSpec(String);

impl StateSpec {
    /// Parses `file://PATH`, `memory` or `etcd://H:P[,H:P...][/PREFIX/]` (plain: see
    /// [`StateSpec::parse_with_tls`] for `etcd+tls://`).
    pub fn parse(text: &str) -> Result<Self, BadStateSpec> {
        Self::parse_with_tls(text, None)
    }

    /// As [`StateSpec::parse`], an etcd spoken to over `tls` (`--etcd-ca`, ...): then
    /// `etcd://` and `etcd+tls://` alike are TLS. `etcd+tls://` without it is refused, as is
    /// `tls` with a state that is not etcd.
    pub fn parse_with_tls(text: &str, tls: Option<EtcdTls>) -> Result<Self, BadStateSpec> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("etcd+tls://") {
            if tls.is_none() {
                return Err(BadStateSpec(
                    "--state etcd+tls:// needs --etcd-ca (the CA that signed the etcd members' \
                     certificates; TLS to etcd trusts only it), and --etcd-cert/--etcd-key \
                     for an etcd that requires client certificates"
                        .into(),
                ));
            }
            return parse_etcd(rest).map(|spec| spec.with_tls(tls));
        }
        if let Some(rest) = text.strip_prefix("etcd://") {
            return parse_etcd(rest).map(|spec| spec.with_tls(tls));
        }
        if tls.is_some() {
            return Err(BadStateSpec(format!(
                "--etcd-ca, --etcd-cert and --etcd-key apply to an etcd:// state only, got '{text}'"
            )));
        }
        if text == "memory" {
            return Ok(StateSpec::Memory);
        }
        if let Some(path) = text.strip_prefix("file://") {
            if path.is_empty() {
                return Err(BadStateSpec(
                    "--state file:// needs a path, e.g. file:///var/lib/corral/registry.redb"
                        .into(),
                ));
            }
            return Ok(StateSpec::File(PathBuf::from(path)));
        }
        Err(BadStateSpec(format!(
            "--state must be file://PATH, memory or etcd://HOST:PORT, got '{text}'"
        )))
    }

    /// Opens the registry; an etcd that does not answer yet is retried for up to
    /// [`CONNECT_PATIENCE`].
    pub async fn open(&self) -> Result<Arc<dyn StateStore>, StateError> {
        Ok(match self {
            StateSpec::Memory => Arc::new(MemoryStore::new()),
            StateSpec::File(path) => Arc::new(RedbStore::open(path)?),
            StateSpec::Etcd {
                endpoints,
                prefix,
                tls,
            } => Arc::new(
                connect_with_retry(endpoints, prefix, tls.as_ref(), CONNECT_PATIENCE).await?,
            ),
        })
    }

    /// This spec, over `tls` if it is an etcd one.
    fn with_tls(self, with: Option<EtcdTls>) -> Self {
        match self {
            StateSpec::Etcd {
                endpoints, prefix, ..
            } => StateSpec::Etcd {
                endpoints,
                prefix,
                tls: with,
            },
            other => other,
        }
    }
}

/// `rest` is what follows `etcd://`: comma-separated endpoints, then an optional path that
/// is the key prefix (made to start and end with '/').
pub fn parse_etcd(rest: &str) -> Result<StateSpec, BadStateSpec> {
    let (hosts, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut endpoints = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        let Some((name, port)) = host.rsplit_once(':') else {
            return Err(BadStateSpec(format!(
                "--state etcd://: '{host}' needs a port, e.g. etcd://127.0.0.1:2379"
            )));
        };
        if name.is_empty() || port.parse::<u16>().is_err() {
            return Err(BadStateSpec(format!(
                "--state etcd://: '{host}' is not HOST:PORT"
            )));
        }
        endpoints.push(host.to_string());
    }
    let prefix = match path.trim_matches('/') {
        "" => DEFAULT_PREFIX.to_string(),
        inner => format!("/{inner}/"),
    };
    Ok(StateSpec::Etcd {
        endpoints,
        prefix,
        tls: None,
    })
}

/// Connects, retrying with backoff for up to `patience`; the first failure is logged once,
/// the last one is returned. A TLS failure is returned at once: the same certificates fail
/// the same way again.
pub async fn connect_with_retry(
    endpoints: &[String],
    prefix: &str,
    tls: Option<&EtcdTls>,
    patience: Duration,
) -> Result<EtcdStore, StateError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut backoff = Duration::from_millis(200);
    let mut logged = false;
    loop {
        match EtcdStore::connect(endpoints, prefix, tls).await {
            Ok(store) => return Ok(store),
            Err(error @ StateError::Tls { .. }) => return Err(error),
            Err(error) if tokio::time::Instant::now() + backoff < deadline => {
                if !logged {
                    tracing::warn!(%error, "etcd is not reachable yet; retrying for up to {} s", patience.as_secs());
                    logged = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                return Err(StateError::Open {
                    location: crate::etcd_store::location(endpoints, tls),
                    reason: format!(
                        "gave up reaching etcd after {} s: {error}",
                        patience.as_secs()
                    ),
                });
            }
        }
    }
}

/// The address (`host:port`) of the master that leads now, read from the masters' election
/// in etcd; `None` while nobody leads.
pub async fn current_leader(
    endpoints: &[String],
    prefix: &str,
    tls: Option<&EtcdTls>,
    timeout: Duration,
) -> Result<Option<String>, StateError> {
    crate::Election::connect(endpoints, prefix, timeout, tls)
        .await?
        .leader()
        .await
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
