//! The master's listening socket, with an accept backlog for a re-registration storm.

use std::net::SocketAddr;

use super::MasterError;

/// After a failover every agent of the cluster connects within milliseconds. With tokio's
/// default backlog (1024) the kernel drops the SYNs past it, and those agents wait out TCP's
/// 1 s SYN retransmission before trying again. The kernel caps this at
/// `net.core.somaxconn` (4096 on current kernels; raise it for clusters above that).
const BACKLOG: u32 = 65_535;

/// Binds `addr` (port 0 picks a free one) and listens; returns the socket and its address.
pub async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), MasterError> {
    let error = |e: std::io::Error| MasterError::Listen {
        addr,
        reason: e.to_string(),
    };
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(error)?;
    // As std's and tokio's own bind: a restarted master can take its port back at once.
    socket.set_reuseaddr(true).map_err(error)?;
    socket.bind(addr).map_err(error)?;
    let listener = socket.listen(BACKLOG).map_err(error)?;
    let local = listener.local_addr().map_err(error)?;
    Ok((listener, local))
}
