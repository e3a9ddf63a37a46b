//! A server's listening socket, accepted on a thread of its own (the master's: see below).
//!
//! After a failover every agent of the cluster connects to the new leader within
//! milliseconds, while the runtime's workers are busy with the registrations already in. An
//! accept loop that is one task among thousands falls behind; the kernel's accept queue
//! (capped at `net.core.somaxconn`, 4096 by default) fills, and the SYNs past it are dropped:
//! those agents wait out TCP's 1 s SYN retransmission. A thread that does nothing but
//! `accept(2)` is woken by the kernel at once and keeps the queue drained.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use tokio::sync::mpsc;

/// The port could not be bound or listened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {reason}")]
pub struct ListenError {
    pub addr: SocketAddr,
    pub reason: String,
}

/// Asked of `listen(2)`; the kernel caps it at `net.core.somaxconn` (raise that for clusters
/// of more agents than it).
const BACKLOG: u32 = 65_535;

/// Connections accepted by the thread and not yet taken by the server.
const QUEUED: usize = 65_536;

/// The accepting side of the master's port, for `axum::serve`. Dropping it stops the thread
/// and closes the port.
pub struct Acceptor {
    accepted: mpsc::Receiver<(std::net::TcpStream, SocketAddr)>,
    local: SocketAddr,
    /// The listening socket (a duplicate of the thread's), shut down on drop to wake the
    /// thread from `accept(2)`.
    socket: std::net::TcpListener,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Binds `addr` (port 0 picks a free one), listens, and starts the accept thread.
pub async fn bind(addr: SocketAddr) -> Result<(Acceptor, SocketAddr), ListenError> {
    let error = |e: std::io::Error| ListenError {
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
    let listener = listener.into_std().map_err(error)?;
    listener.set_nonblocking(false).map_err(error)?;
    let for_thread = listener.try_clone().map_err(error)?;
    let (sender, accepted) = mpsc::channel(QUEUED);
    let thread = std::thread::Builder::new()
        .name("accept".into())
        .spawn(move || accept_loop(for_thread, sender))
        .map_err(error)?;
    Ok((
        Acceptor {
            accepted,
            local,
            socket: listener,
            thread: Some(thread),
        },
        local,
    ))
}

fn accept_loop(
    listener: std::net::TcpListener,
    sender: mpsc::Sender<(std::net::TcpStream, SocketAddr)>,
) {
    loop {
        match listener.accept() {
            Ok(connection) => {
                if sender.blocking_send(connection).is_err() {
                    return;
                }
            }
            // Shut down (the acceptor was dropped): EINVAL.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return,
            // Out of file descriptors and the like: as tokio's accept loop, pause and retry.
            Err(e) => {
                if sender.is_closed() {
                    return;
                }
                tracing::warn!("cannot accept a connection: {e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}

impl axum::serve::Listener for Acceptor {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some((stream, peer)) = self.accepted.recv().await else {
                // The thread is gone; serve no more connections.
                return std::future::pending().await;
            };
            let converted = stream
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpStream::from_std(stream));
            match converted {
                Ok(stream) => return (stream, peer),
                Err(e) => tracing::warn!("cannot serve an accepted connection: {e}"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.accepted.close();
        // Wakes the thread's accept(2) with EINVAL and stops the port listening now, so a
        // master restarted in this process can bind it again.
        // SAFETY: shutdown(2) on a descriptor this struct owns; no memory is involved.
        unsafe {
            libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
