//! The client's address, for `api_post_event`'s `clientIp` and `event_stream_attached`'s
//! `remoteAddress`: the server is made with `into_make_service_with_connect_info`, so each
//! request carries the peer of its connection (absent when a test calls the router directly).

use std::net::SocketAddr;

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::Extensions;
use axum::serve::IncomingStream;
use corral_http::listen::Acceptor;
use corral_http::tls::TlsListener;

#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, Acceptor>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, Acceptor>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// Served over TLS (`--tls-cert`): the same peer, under the handshake.
impl Connected<IncomingStream<'_, TlsListener<Acceptor>>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener<Acceptor>>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// The peer, as a handler that also reads a body takes it.
pub type Peer = Option<axum::Extension<ConnectInfo<ClientAddr>>>;

pub fn peer_ip(peer: &Peer) -> String {
    peer.as_ref()
        .map_or_else(|| "unknown".to_string(), |p| p.0.0.0.ip().to_string())
}

/// Publishes `api_post_event` for each of `ids` that exists, as the world has it now.
pub async fn publish_api_posts(
    services: &crate::services::Services,
    peer: &Peer,
    uri: &str,
    ids: &[String],
) {
    let ip = peer_ip(peer);
    let world = services.world.lock().await;
    for app in ids.iter().filter_map(|id| world.apps.get(id)) {
        services.publish(crate::events::Event::api_post(&ip, uri, app));
    }
}

/// The client's IP, or `unknown`.
pub fn client_ip(extensions: &Extensions) -> String {
    extensions
        .get::<ConnectInfo<ClientAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.0.ip().to_string())
}
