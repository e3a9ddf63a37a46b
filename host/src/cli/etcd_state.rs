//! `--state etcd://H1:P1[,H2:P2...][/PREFIX/]`: parsing it, and connecting at start with
//! bounded retries so a master started just before its etcd still comes up.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::master::StateSpec;
use crate::state::EtcdStore;
use crate::state::etcd_store::DEFAULT_PREFIX;

/// How long a starting master keeps trying to reach etcd before it gives up.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// `rest` is what follows `etcd://`: comma-separated endpoints, then an optional path that
/// is the key prefix (made to start and end with '/').
pub fn parse_etcd(rest: &str) -> anyhow::Result<StateSpec> {
    let (hosts, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut endpoints = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        let Some((name, port)) = host.rsplit_once(':') else {
            bail!("--state etcd://: '{host}' needs a port, e.g. etcd://127.0.0.1:2379");
        };
        if name.is_empty() || port.parse::<u16>().is_err() {
            bail!("--state etcd://: '{host}' is not HOST:PORT");
        }
        endpoints.push(host.to_string());
    }
    let prefix = match path.trim_matches('/') {
        "" => DEFAULT_PREFIX.to_string(),
        inner => format!("/{inner}/"),
    };
    Ok(StateSpec::Etcd { endpoints, prefix })
}

/// Connects, retrying with backoff for up to `patience`; the first failure is logged once,
/// the last one is returned.
pub async fn connect_with_retry(
    endpoints: &[String],
    prefix: &str,
    patience: Duration,
) -> anyhow::Result<EtcdStore> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut backoff = Duration::from_millis(200);
    let mut logged = false;
    loop {
        match EtcdStore::connect(endpoints, prefix).await {
            Ok(store) => return Ok(store),
            Err(error) if tokio::time::Instant::now() + backoff < deadline => {
                if !logged {
                    tracing::warn!(%error, "etcd is not reachable yet; retrying for up to {} s", patience.as_secs());
                    logged = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("gave up reaching etcd after {} s", patience.as_secs())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etcd(endpoints: &[&str], prefix: &str) -> StateSpec {
        StateSpec::Etcd {
            endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
            prefix: prefix.to_string(),
        }
    }

    #[test]
    fn endpoints_and_prefix() {
        assert_eq!(
            parse_etcd("127.0.0.1:2379").expect("one"),
            etcd(&["127.0.0.1:2379"], "/corral/")
        );
        assert_eq!(
            parse_etcd("h1:2379,h2:2379/").expect("two"),
            etcd(&["h1:2379", "h2:2379"], "/corral/")
        );
        assert_eq!(
            parse_etcd("h1:2379/team/a").expect("prefix"),
            etcd(&["h1:2379"], "/team/a/")
        );
        for bad in ["", "h1", "h1:x", ":2379", "h1:2379,/p", "h1:99999"] {
            let err = parse_etcd(bad).expect_err(bad);
            assert!(err.to_string().contains("--state etcd://"), "{err}");
        }
    }

    /// An etcd that is not up yet at start: the master keeps trying (no crash) and connects
    /// once it listens; one that never comes is a clear error naming it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_etcd_that_comes_up_late_is_waited_for_and_one_that_never_does_is_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let endpoints = vec![format!("127.0.0.1:{port}")];
        let err = connect_with_retry(&endpoints, "/late/", Duration::from_secs(1))
            .await
            .expect_err("nothing listens");
        let text = format!("{err:#}");
        assert!(text.contains("gave up reaching etcd"), "{text}");
        assert!(text.contains(&endpoints[0]), "{text}");

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            crate::state::etcd_launcher::LocalEtcd::start_at(&path, port).expect("etcd starts")
        });
        let store = connect_with_retry(&endpoints, "/late/", Duration::from_secs(30)).await;
        let _etcd = late.join().expect("launcher thread");
        store.expect("connects once etcd listens");
    }
}
