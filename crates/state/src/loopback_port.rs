//! Free loopback ports for the servers tests and benchmarks start (local etcd members,
//! masters, agents). A port is picked below the kernel's ephemeral range, so no outgoing
//! connection can take it between the pick and the server's bind (a port the kernel hands
//! to `bind(0)` is one it also hands to `connect`), and below the ports agents offer tasks
//! by default (31000-32000, as Mesos); no port is handed out twice in one process, so tests
//! running in parallel never pick the same one.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port picked: above the ports services commonly register.
const BAND_START: u32 = 20_000;

/// Where the band ends at the latest: the agents' default task ports start here.
const BAND_END: u32 = 31_000;

/// The fewest ports below the ephemeral range worth picking from; with fewer (a machine
/// whose ephemeral range starts low) the kernel picks, as `bind(0)`.
const BAND_MIN: u32 = 1_000;

/// Where the next pick starts, counted from this process's offset in the band.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A loopback TCP port that was free a moment ago and that this process has not handed out
/// before.
pub fn free_loopback_port() -> std::io::Result<u16> {
    let band_end = ephemeral_low().unwrap_or(32_768).min(BAND_END);
    if band_end < BAND_START + BAND_MIN {
        return kernel_pick();
    }
    let span = band_end - BAND_START;
    // Test binaries run one after another: each starts at its own place in the band, so
    // one does not meet the ports the last one's servers may still hold for a moment.
    let offset = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = BAND_START + (offset + n) % span;
        let port = u16::try_from(port).map_err(std::io::Error::other)?;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    kernel_pick()
}

fn kernel_pick() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The first port of the kernel's ephemeral range (`net.ipv4.ip_local_port_range`).
fn ephemeral_low() -> Option<u32> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    range.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let low = ephemeral_low().expect("this machine has an ephemeral range");
        let ports: Vec<u16> = (0..200)
            .map(|_| free_loopback_port().expect("a free port"))
            .collect();
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "a port was handed out twice");
        if low.min(BAND_END) >= BAND_START + BAND_MIN {
            let end = low.min(BAND_END);
            assert!(
                ports
                    .iter()
                    .all(|&p| u32::from(p) >= BAND_START && u32::from(p) < end),
                "a port outside {BAND_START}..{end}: {ports:?}"
            );
        }
        for port in ports.iter().take(20) {
            TcpListener::bind(("127.0.0.1", *port)).expect("the port is free");
        }
    }
}
