//! A TLS listener for `axum::serve` over any other listener (the master's accept thread, a
//! plain tokio listener). Handshakes run each in a task of its own, bounded by
//! [`HANDSHAKE_TIMEOUT`]: a client that connects and says nothing, or says it slowly, holds
//! only its own task, never the connections behind it. `accept()` hands out only finished
//! handshakes; a failed one is logged and dropped, and the server goes on.

use std::time::Duration;

use axum::serve::Listener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::ServerTls;

/// How long a client may take to finish its handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes not yet taken by the server.
const READY: usize = 1024;

/// Serves `L`'s connections over TLS. Dropping it stops accepting and drops `L`.
pub struct TlsListener<L: Listener> {
    ready: mpsc::Receiver<(TlsStream<L::Io>, L::Addr)>,
    local: std::io::Result<L::Addr>,
    accepting: tokio::task::JoinHandle<()>,
}

impl<L> TlsListener<L>
where
    L: Listener,
    L::Addr: Clone + std::fmt::Display + Send + 'static,
{
    /// Starts accepting `inner`'s connections (on the current tokio runtime).
    pub fn new(inner: L, tls: &ServerTls) -> Self {
        let local = inner.local_addr();
        let (sender, ready) = mpsc::channel(READY);
        let acceptor = TlsAcceptor::from(tls.config());
        let accepting = tokio::spawn(accept_loop(inner, acceptor, sender));
        TlsListener {
            ready,
            local,
            accepting,
        }
    }
}

async fn accept_loop<L>(
    mut inner: L,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<L::Io>, L::Addr)>,
) where
    L: Listener,
    L::Addr: Clone + std::fmt::Display + Send + 'static,
{
    loop {
        let (io, peer) = tokio::select! {
            accepted = inner.accept() => accepted,
            // The server is gone: stop, dropping (closing) the inner listener.
            () = sender.closed() => return,
        };
        let handshake = acceptor.accept(io);
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::info!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::info!(
                    %peer,
                    "TLS handshake not finished within {} s; connection closed",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            }
        });
    }
}

impl<L> Listener for TlsListener<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    type Io = TlsStream<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task is gone (the inner listener never fails): serve no more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.local {
            Ok(addr) => Ok(addr.clone()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

impl<L: Listener> Drop for TlsListener<L> {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}
