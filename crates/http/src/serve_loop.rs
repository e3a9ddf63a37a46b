//! Corral's accept loop: what `axum::serve` does (hyper's HTTP/1.1 and HTTP/2 per connection,
//! graceful shutdown), plus the timeouts it cannot give, since it runs hyper without a timer:
//!
//! - a request head must arrive within the header timeout (hyper's `header_read_timeout`; in
//!   hyper 1.x its timer starts whenever the connection waits for a head, so it also ends an
//!   HTTP/1.1 keep-alive connection that sends no next request, and a slowloris);
//! - a connection with no request in flight is closed after the idle timeout (the header
//!   timeout before its first request: a client that connects and says nothing, or sends an
//!   HTTP/2 preface and no request); HTTP/2 connections also get keep-alive pings, so a
//!   vanished peer behind a streaming response is noticed;
//! - a request body that sends nothing for the body timeout fails (`timed_body.rs`).
//!
//! Responses are never timed: a stream (a v1 SUBSCRIBE, `/v2/events`) runs as long as both
//! ends want. Each request carries `ConnectInfo<PeerAddr>`, as axum's
//! `into_make_service_with_connect_info` gave it.

use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower::Service;

use crate::connection_activity::{Activity, Tracked};
use crate::peer::PeerAddr;
use crate::server_settings::HttpTimeouts;
use crate::timed_body::TimedBody;

/// Serves `router` on `listener`'s connections until `shutdown`, then stops accepting and
/// returns once every connection's requests in flight are answered (as
/// `axum::serve(..).with_graceful_shutdown(..)`). `peer_of` names each connection's peer.
pub async fn serve_connections<L, P>(
    mut listener: L,
    peer_of: P,
    router: Router,
    timeouts: HttpTimeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    L: Listener,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    P: Fn(&L::Io, &L::Addr) -> PeerAddr,
{
    let builder = Arc::new(builder(&timeouts));
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        // Receivers read the value before noticing the sender is gone.
        let _ = stop.send(true);
    });
    // Each connection's task holds a receiver; all dropped: every connection is done.
    let (done, running) = watch::channel(());
    let mut stopped = stopping.clone();
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let peer = peer_of(&io, &addr);
        let connection = Connection {
            builder: builder.clone(),
            router: router.clone(),
            peer,
            timeouts,
            stopping: stopping.clone(),
            _running: running.clone(),
        };
        tokio::spawn(connection.serve(io));
    }
    drop(running);
    drop(listener);
    done.closed().await;
}

fn builder(timeouts: &HttpTimeouts) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header);
    builder
        .http2()
        .timer(TokioTimer::new())
        // A ping when the connection has been silent this long; no answer within hyper's
        // keep-alive timeout (20 s) closes it.
        .keep_alive_interval(timeouts.idle)
        // As axum: the CONNECT protocol for HTTP/2 WebSockets.
        .enable_connect_protocol();
    builder
}

struct Connection {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    peer: PeerAddr,
    timeouts: HttpTimeouts,
    stopping: watch::Receiver<bool>,
    _running: watch::Receiver<()>,
}

impl Connection {
    async fn serve<Io>(mut self, io: Io)
    where
        Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::new();
        let service = {
            let (router, peer, activity) =
                (self.router.clone(), self.peer.clone(), activity.clone());
            let (body_timeout, body_min_rate) = (self.timeouts.body, self.timeouts.body_min_rate);
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let in_flight = activity.begin();
                let mut request = request
                    .map(|body| Body::new(TimedBody::new(body, body_timeout, body_min_rate)));
                request.extensions_mut().insert(ConnectInfo(peer.clone()));
                let response = router.clone().call(request);
                async move {
                    let response = response.await?;
                    Ok::<_, Infallible>(
                        response.map(|body| Body::new(Tracked::new(body, in_flight))),
                    )
                }
            })
        };
        let builder = self.builder.clone();
        let mut connection =
            pin!(builder.serve_connection_with_upgrades(TokioIo::new(io), service));
        let mut closing = false;
        loop {
            let allowed = quiet_for(&activity, &self.timeouts);
            let quiet_until = activity.quiet_since().map(|since| since + allowed);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(peer = %self.peer.0, %error, "connection ended");
                    }
                    return;
                }
                _ = self.stopping.wait_for(|stop| *stop), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                () = sleep_until(quiet_until), if !closing => {
                    // Still quiet (a request may have come and gone meanwhile)?
                    let allowed = quiet_for(&activity, &self.timeouts);
                    if activity.quiet_since().is_some_and(|since| since.elapsed() >= allowed) {
                        tracing::debug!(peer = %self.peer.0, "idle connection closed");
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
                // The last request in flight ended: the idle clock restarts.
                () = activity.request_ended() => {}
            }
        }
    }
}

/// How long a connection may go without a request in flight.
fn quiet_for(activity: &Activity, timeouts: &HttpTimeouts) -> Duration {
    if activity.served_any() {
        timeouts.idle
    } else {
        timeouts.header
    }
}

/// Until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
