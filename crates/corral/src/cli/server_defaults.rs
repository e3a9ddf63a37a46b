//! Defaults shared by the commands that run a master or an agent: plugin limits, work
//! directories, the hostname to advertise, and the state store to open.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use corral_plugin_host::PluginLimits;

/// Bounds on every plugin call: generous for real policies, small enough that a plugin stuck
/// in a loop or allocating without end is stopped quickly.
pub const PLUGIN_LIMITS: PluginLimits = PluginLimits {
    call_deadline: Duration::from_secs(1),
    memory_bytes: 64 * 1024 * 1024,
};

/// Mesos' default heartbeat interval on scheduler streams.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// Where a daemon keeps its state, as Mesos keeps /var/lib/mesos: `/var/lib/corral/<kind>`.
pub fn server_work_dir(kind: &str) -> PathBuf {
    PathBuf::from("/var/lib/corral").join(kind)
}

/// `corral dev` stays local: `$XDG_STATE_HOME/corral/<kind>` when that variable is set,
/// else `./.corral-<kind>`.
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

/// Checks `--resources` and `--attributes` before anything starts, so a typo is reported
/// as the flag the user wrote.
pub fn check_agent_flags(resources: Option<&str>, attributes: Option<&str>) -> anyhow::Result<()> {
    if let Some(text) = resources {
        corral_api::resources::parse_resources(text).context("bad --resources")?;
    }
    if let Some(text) = attributes {
        corral_api::resources::parse_attributes(text).context("bad --attributes")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
