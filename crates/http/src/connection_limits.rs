//! Caps on the connections a Corral process holds open, across all its servers (`corral
//! dev` runs four in one process): a total, kept below the process's file-descriptor limit
//! with a reserve for the work that must not fail (checkpoints, the store, a task's pipes),
//! and a cap per source address, so one client cannot take them all. A connection past
//! either cap is closed at once, not queued, and the refusals are logged at most once a
//! second. Loopback sources count only against the total: a cluster's own components and
//! its benchmarks reach a server from 127.0.0.1 by the thousand (every agent of `corral
//! bench failover` is one).
//!
//! Idle connections, slow headers and stalled bodies are timed out by the accept loop
//! (`serve_loop.rs`); the caps bound what the clients hold until then. Both are set per
//! process (`server_settings.rs`, the servers' `--max-connections...` flags).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Descriptors kept out of the connections' reach.
pub(crate) const RESERVED_DESCRIPTORS: u64 = 1024;
/// The most connections one (non-loopback) address may hold.
pub const PER_SOURCE: usize = 1024;
/// How often a refusal is logged, at most.
const WARN_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub total: usize,
    pub per_source: usize,
}

impl ConnectionLimits {
    /// The process's limits: its descriptor limit raised to the hard limit (as Go's and
    /// Mesos' servers do), less the reserve.
    pub fn for_this_process() -> ConnectionLimits {
        let descriptors = raise_descriptor_limit();
        let total = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(64);
        ConnectionLimits {
            total: usize::try_from(total).unwrap_or(usize::MAX),
            per_source: PER_SOURCE,
        }
    }
}

/// The soft `RLIMIT_NOFILE`, raised to the hard one first.
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a rlimit this function owns.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    limit.rlim_cur
}

/// Who holds how many connections now.
#[derive(Debug)]
pub struct ConnectionCounts {
    limits: ConnectionLimits,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    open: usize,
    by_source: HashMap<IpAddr, usize>,
    refused_since_warning: u64,
    warned: Option<Instant>,
}

impl ConnectionCounts {
    pub fn new(limits: ConnectionLimits) -> Arc<ConnectionCounts> {
        Arc::new(ConnectionCounts {
            limits,
            held: Mutex::new(Held::default()),
        })
    }

    /// The counts every server of this process shares, under the process's settings
    /// (`server_settings::configure`, checked there).
    pub fn process() -> Arc<ConnectionCounts> {
        static COUNTS: OnceLock<Arc<ConnectionCounts>> = OnceLock::new();
        COUNTS
            .get_or_init(|| {
                let limits = crate::server_settings::process()
                    .connection_limits()
                    .unwrap_or_else(|_| ConnectionLimits::for_this_process());
                ConnectionCounts::new(limits)
            })
            .clone()
    }

    /// A slot for a connection from `source`, or `None` past a cap.
    pub fn admit(self: &Arc<Self>, source: IpAddr) -> Option<Slot> {
        let counted_source = (!source.is_loopback()).then_some(source);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let from_source = counted_source.map_or(0, |s| *held.by_source.get(&s).unwrap_or(&0));
        let refusal = if held.open >= self.limits.total {
            Some(format!("{} connections open", held.open))
        } else if from_source >= self.limits.per_source {
            Some(format!("{from_source} connections from {source}"))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            held.refused_since_warning += 1;
            let now = Instant::now();
            if held
                .warned
                .is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
            {
                tracing::warn!(
                    refused = held.refused_since_warning,
                    "connection from {source} refused: {refusal} (caps: {} in all, {} a source)",
                    self.limits.total,
                    self.limits.per_source
                );
                held.warned = Some(now);
                held.refused_since_warning = 0;
            }
            return None;
        }
        held.open += 1;
        if let Some(source) = counted_source {
            *held.by_source.entry(source).or_default() += 1;
        }
        Some(Slot {
            counts: self.clone(),
            source: counted_source,
        })
    }

    /// Connections held now.
    pub fn open(&self) -> usize {
        self.held.lock().map(|h| h.open).unwrap_or_default()
    }
}

/// One admitted connection's place in the counts, given back when it closes.
#[derive(Debug)]
pub struct Slot {
    counts: Arc<ConnectionCounts>,
    source: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.counts.held.lock().unwrap_or_else(|e| e.into_inner());
        held.open = held.open.saturating_sub(1);
        if let Some(source) = self.source
            && let Some(count) = held.by_source.get_mut(&source)
        {
            *count -= 1;
            if *count == 0 {
                held.by_source.remove(&source);
            }
        }
    }
}

/// A listener whose connections count against `counts`; one past a cap is closed at once.
pub struct Limited<L> {
    inner: L,
    counts: Arc<ConnectionCounts>,
}

impl<L> Limited<L> {
    pub fn new(inner: L, counts: Arc<ConnectionCounts>) -> Self {
        Limited { inner, counts }
    }
}

impl<L> Listener for Limited<L>
where
    L: Listener<Addr = SocketAddr>,
{
    type Io = Counted<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, peer) = self.inner.accept().await;
            if let Some(slot) = self.counts.admit(peer.ip()) {
                return (Counted { io, _slot: slot }, peer);
            }
            drop(io);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its slot until it is dropped.
pub struct Counted<Io> {
    io: Io,
    _slot: Slot,
}

impl<Io> Counted<Io> {
    pub fn get_ref(&self) -> &Io {
        &self.io
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Counted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Counted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_source_past_its_cap_is_refused_and_its_slots_come_back() {
        let counts = ConnectionCounts::new(ConnectionLimits {
            total: 10,
            per_source: 2,
        });
        let first = counts.admit(ip("10.0.0.1")).expect("first");
        let _second = counts.admit(ip("10.0.0.1")).expect("second");
        assert!(
            counts.admit(ip("10.0.0.1")).is_none(),
            "a third from one source"
        );
        let _other = counts.admit(ip("10.0.0.2")).expect("another source");
        drop(first);
        let again = counts.admit(ip("10.0.0.1"));
        assert!(again.is_some(), "the slot came back");
        // Loopback counts against the total only.
        let local: Vec<Slot> = (0..5)
            .filter_map(|_| counts.admit(ip("127.0.0.1")))
            .collect();
        assert_eq!(local.len(), 5);
        assert_eq!(counts.open(), 8);
    }

    #[test]
    fn the_total_caps_every_source_together() {
        let counts = ConnectionCounts::new(ConnectionLimits {
            total: 3,
            per_source: 3,
        });
        let held: Vec<Slot> = ["10.0.0.1", "10.0.0.2", "::1"]
            .iter()
            .filter_map(|s| counts.admit(ip(s)))
            .collect();
        assert_eq!(held.len(), 3);
        assert!(counts.admit(ip("10.0.0.3")).is_none());
        drop(held);
        assert_eq!(counts.open(), 0);
    }

    #[test]
    fn the_descriptor_limit_leaves_a_reserve() {
        let limits = ConnectionLimits::for_this_process();
        assert!(limits.total >= 64);
        assert_eq!(limits.per_source, PER_SOURCE);
    }

    #[tokio::test]
    async fn a_connection_past_the_total_is_closed_at_once_and_served_when_one_leaves() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counts = ConnectionCounts::new(ConnectionLimits {
            total: 1,
            per_source: 1,
        });
        let mut limited = Limited::new(listener, counts.clone());
        let first_client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (first, _) = limited.accept().await;
        let mut second_client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        // accept() takes the second, closes it at once, and waits on for the next.
        let accepting = tokio::spawn(async move {
            let (io, _) = limited.accept().await;
            io
        });
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), second_client.read(&mut buf))
            .await
            .expect("the refused connection is closed, not left waiting");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        drop(first);
        drop(first_client);
        let third_client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let third = tokio::time::timeout(Duration::from_secs(5), accepting)
            .await
            .expect("the next connection is served once a slot is free")
            .expect("the accept task");
        assert_eq!(counts.open(), 1);
        drop((third, third_client));
        assert_eq!(counts.open(), 0);
    }
}
