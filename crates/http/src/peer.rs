//! The peer of a request's connection, for the servers made with
//! `into_make_service_with_connect_info::<PeerAddr>()` (every server through
//! [`crate::serve`]): the audit log and Marathon's events name the client's address, and the
//! authentication layer takes a mutual-TLS client's certificate as its identity.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use crate::connection_limits::Limited;
use crate::listen::Acceptor;
use crate::tls::{TlsListener, certificate_principal};

/// The client's address and, over mutual TLS, the principal its verified certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr, pub Option<Arc<str>>);

// One impl per listener type (a generic one would overlap axum's own).
macro_rules! plain_peer_of {
    ($listener:ty) => {
        impl Connected<IncomingStream<'_, $listener>> for PeerAddr {
            fn connect_info(stream: IncomingStream<'_, $listener>) -> Self {
                PeerAddr(*stream.remote_addr(), None)
            }
        }
    };
}

// Over TLS: the same peer, under the handshake, and its certificate's principal.
macro_rules! tls_peer_of {
    ($listener:ty) => {
        impl Connected<IncomingStream<'_, $listener>> for PeerAddr {
            fn connect_info(stream: IncomingStream<'_, $listener>) -> Self {
                let (_, session) = stream.io().get_ref();
                let principal = certificate_principal(session.peer_certificates());
                PeerAddr(*stream.remote_addr(), principal)
            }
        }
    };
}

plain_peer_of!(Limited<Acceptor>);
plain_peer_of!(Limited<tokio::net::TcpListener>);
tls_peer_of!(TlsListener<Limited<Acceptor>>);
tls_peer_of!(TlsListener<Limited<tokio::net::TcpListener>>);
