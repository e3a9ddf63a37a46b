//! The peer of a request's connection, for the servers made with
//! `into_make_service_with_connect_info::<PeerAddr>()` (every server through
//! [`crate::serve`]): the audit log and Marathon's events name the client's address.

use std::net::SocketAddr;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use crate::listen::Acceptor;
use crate::tls::TlsListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

// One impl per listener type (a generic one would overlap axum's own).
macro_rules! peer_of {
    ($listener:ty) => {
        impl Connected<IncomingStream<'_, $listener>> for PeerAddr {
            fn connect_info(stream: IncomingStream<'_, $listener>) -> Self {
                PeerAddr(*stream.remote_addr())
            }
        }
    };
}

peer_of!(Acceptor);
peer_of!(tokio::net::TcpListener);
// Over TLS: the same peer, under the handshake.
peer_of!(TlsListener<Acceptor>);
peer_of!(TlsListener<tokio::net::TcpListener>);
