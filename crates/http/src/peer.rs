//! The peer of a request's connection, for the servers made with
//! `into_make_service_with_connect_info::<PeerAddr>()` (every server through
//! [`crate::serve`]): the audit log and Marathon's events name the client's address.

use std::net::SocketAddr;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use crate::listen::Acceptor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

// One impl per listener type (a generic one would overlap axum's own).
impl Connected<IncomingStream<'_, Acceptor>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, Acceptor>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}
