//! The peer of a request's connection, in every request's extensions as
//! `ConnectInfo<PeerAddr>` (every server through [`crate::serve`]): the audit log and Marathon's events name the client's address, and the
//! authentication layer takes a mutual-TLS client's certificate as its identity.

use std::net::SocketAddr;
use std::sync::Arc;

/// The client's address and, over mutual TLS, the principal its verified certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr, pub Option<Arc<str>>);
