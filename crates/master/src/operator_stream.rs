//! The operator API's event stream: `SUBSCRIBE` on `POST /api/v1`. RecordIO of JSON (or protobuf)
//! `master.proto` events, as Mesos streams them: SUBSCRIBED (the whole state), then every
//! change the master applies, in order, and a HEARTBEAT every heartbeat interval. Each
//! subscriber has its own bounded buffer (`shell.rs`); one that stops reading is dropped.
//! Each subscriber gets only what its principal may view (`view_filter.rs`), decided in its
//! own stream, outside the core's lock.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{Instant, interval_at};

use corral_api::operator_events::OperatorEvent;
use corral_api::recordio;
use corral_http::error::ApiError;
use corral_mesos_proto::names::MASTER_EVENT;

use super::effects::{OperatorUpdate, StreamId};
use super::shell::Shared;
use super::view_filter::ViewMemo;

/// Tells the shell when a subscriber's body is dropped, however that happens.
struct CloseGuard {
    shared: Arc<Shared>,
    stream: StreamId,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.shared.operator_stream_closed(self.stream);
    }
}

/// `SUBSCRIBE`: the streaming response.
pub fn subscribe(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    subject: Option<&str>,
) -> Result<Response, ApiError> {
    let format = corral_mesos_proto::http::stream_format(headers)?;
    let heartbeat = shared.heartbeat_interval;
    let (stream, events) = shared.open_operator_stream();
    tracing::info!(%stream, principal = subject.unwrap_or("<anonymous>"),
        "operator API subscriber connected");
    let views = ViewMemo::new(subject);
    let body = body(shared, stream, events, views, heartbeat);
    Ok(corral_mesos_proto::http::stream_response(
        body,
        format,
        MASTER_EVENT,
    ))
}

fn record(event: &OperatorEvent) -> Option<Bytes> {
    match serde_json::to_vec(event) {
        Ok(json) => Some(recordio::encode(&json)),
        Err(error) => {
            tracing::error!(%error, "cannot serialize an operator event; skipped");
            None
        }
    }
}

fn body(
    shared: Arc<Shared>,
    stream: StreamId,
    mut events: mpsc::Receiver<Arc<OperatorUpdate>>,
    mut views: ViewMemo,
    heartbeat: Duration,
) -> Body {
    let body = async_stream::stream! {
        let guard = CloseGuard { shared, stream };
        let mut ticker = interval_at(Instant::now() + heartbeat, heartbeat);
        loop {
            let next = tokio::select! {
                biased;
                event = events.recv() => match event {
                    Some(update) => views
                        .with(guard.shared.authorizer())
                        .event(&update)
                        .and_then(|event| record(&event)),
                    // Dropped by the shell (it fell behind) or the master stops.
                    None => break,
                },
                _ = ticker.tick() => record(&OperatorEvent::heartbeat()),
            };
            if let Some(bytes) = next {
                yield Ok::<Bytes, Infallible>(bytes);
            }
        }
    };
    Body::from_stream(body)
}
