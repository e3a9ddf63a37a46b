//! Defaults shared by the commands that run a master or an agent: plugin limits, work
//! directories, the hostname to advertise, and the state store to open.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::master::StateSpec;
use crate::plugins::PluginLimits;
use crate::state::{MemoryStore, RedbStore, StateStore};

/// Bounds on every plugin call: generous for real policies, small enough that a plugin stuck
/// in a loop or allocating without end is stopped quickly.
pub const PLUGIN_LIMITS: PluginLimits = PluginLimits {
    call_deadline: Duration::from_secs(1),
    memory_bytes: 64 * 1024 * 1024,
};

/// Mesos' default heartbeat interval on scheduler streams.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// `$XDG_STATE_HOME/corral/<kind>` when that variable is set, else `./.corral-<kind>`.
pub fn default_work_dir(kind: &str) -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(base) => PathBuf::from(base).join("corral").join(kind),
        None => PathBuf::from(format!(".corral-{kind}")),
    }
}

/// The machine's hostname, or the listen address when it has none.
pub fn hostname(ip: IpAddr) -> String {
    sysinfo::System::host_name()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| ip.to_string())
}

/// The address others use to reach a server bound to `addr`: a wildcard bind is reached
/// on loopback from this machine.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

/// Parses `--state`: `file://PATH`, `memory` or `etcd://H:P[,H:P...][/PREFIX/]`.
pub fn parse_state(text: &str) -> anyhow::Result<StateSpec> {
    let text = text.trim();
    if text == "memory" {
        return Ok(StateSpec::Memory);
    }
    if let Some(path) = text.strip_prefix("file://") {
        if path.is_empty() {
            bail!("--state file:// needs a path, e.g. file:///var/lib/corral/registry.redb");
        }
        return Ok(StateSpec::File(PathBuf::from(path)));
    }
    if let Some(rest) = text.strip_prefix("etcd://") {
        return super::etcd_state::parse_etcd(rest);
    }
    bail!("--state must be file://PATH, memory or etcd://HOST:PORT, got '{text}'")
}

/// Opens the registry; an etcd that does not answer yet is retried for a bounded time.
pub async fn open_store(spec: &StateSpec) -> anyhow::Result<Arc<dyn StateStore>> {
    Ok(match spec {
        StateSpec::Memory => Arc::new(MemoryStore::new()),
        StateSpec::File(path) => {
            Arc::new(RedbStore::open(path).with_context(|| "cannot open the master's registry")?)
        }
        StateSpec::Etcd { endpoints, prefix } => Arc::new(
            super::etcd_state::connect_with_retry(
                endpoints,
                prefix,
                super::etcd_state::CONNECT_PATIENCE,
            )
            .await
            .context("cannot open the master's registry")?,
        ),
    })
}

/// Checks `--resources` and `--attributes` before anything starts, so a typo is reported
/// as the flag the user wrote.
pub fn check_agent_flags(resources: Option<&str>, attributes: Option<&str>) -> anyhow::Result<()> {
    if let Some(text) = resources {
        crate::resources::parse_resources(text).context("bad --resources")?;
    }
    if let Some(text) = attributes {
        crate::resources::parse_attributes(text).context("bad --attributes")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_flag_forms() {
        assert_eq!(parse_state("memory").expect("memory"), StateSpec::Memory);
        assert_eq!(
            parse_state("file:///tmp/r.redb").expect("file"),
            StateSpec::File(PathBuf::from("/tmp/r.redb"))
        );
        assert_eq!(
            parse_state("file://rel/r.redb").expect("relative file"),
            StateSpec::File(PathBuf::from("rel/r.redb"))
        );
        assert!(matches!(
            parse_state("etcd://127.0.0.1:2379").expect("etcd"),
            StateSpec::Etcd { .. }
        ));
        for bad in ["file://", "etcd://127.0.0.1", "/tmp/r.redb", "mem"] {
            let err = parse_state(bad).expect_err("refused");
            assert!(err.to_string().contains("--state"), "{err}");
        }
    }

    #[test]
    fn wildcard_binds_are_reached_on_loopback() {
        let any: SocketAddr = "0.0.0.0:5050".parse().expect("addr");
        assert_eq!(reachable(any).to_string(), "127.0.0.1:5050");
        let one: SocketAddr = "10.1.2.3:5050".parse().expect("addr");
        assert_eq!(reachable(one), one);
    }

    #[test]
    fn bad_agent_flags_name_the_flag() {
        let err = check_agent_flags(Some("cpus:two"), None).expect_err("refused");
        assert!(format!("{err:#}").starts_with("bad --resources"), "{err:#}");
        check_agent_flags(Some("cpus:2;mem:1024;ports:[31000-32000]"), Some("rack:r1"))
            .expect("valid flags");
    }
}
