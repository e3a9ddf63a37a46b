//! The long-lived response bodies: a framework's event stream (with HEARTBEATs) and an
//! agent's command stream (with Pings), both RecordIO of JSON. When a body is dropped (the
//! client went away, or the master ended it) the core hears that the stream closed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::{Instant, interval_at};

use corral_api::agent_protocol::AgentCommand;
use corral_api::recordio;
use corral_api::scheduler::Event;

use super::effects::StreamId;
use super::shell::Shared;

enum StreamKind {
    Framework,
    Agent,
}

/// Tells the core when a stream body is dropped, however that happens.
struct CloseGuard {
    shared: Arc<Shared>,
    kind: StreamKind,
    stream: StreamId,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        match self.kind {
            StreamKind::Framework => self.shared.framework_stream_closed(self.stream),
            StreamKind::Agent => self.shared.agent_stream_closed(self.stream),
        }
    }
}

fn record<T: Serialize>(value: &T) -> Option<Bytes> {
    match serde_json::to_vec(value) {
        Ok(json) => Some(recordio::encode(&json)),
        Err(error) => {
            tracing::error!(%error, "cannot serialize a stream record; skipped");
            None
        }
    }
}

/// A subscription refused after it was answered, as Mesos refuses one: its only record is
/// `event` (an ERROR), then the stream ends.
pub fn refusal_body(event: &Event) -> Body {
    Body::from(record(event).unwrap_or_default())
}

/// A framework's subscription stream: the core's events, and a HEARTBEAT every `heartbeat`.
pub fn framework_body(
    shared: Arc<Shared>,
    stream: StreamId,
    mut events: mpsc::UnboundedReceiver<Event>,
    heartbeat: Duration,
) -> Body {
    let body = async_stream::stream! {
        let _guard = CloseGuard { shared, kind: StreamKind::Framework, stream };
        let mut ticker = interval_at(Instant::now() + heartbeat, heartbeat);
        loop {
            let next = tokio::select! {
                biased;
                event = events.recv() => match event {
                    Some(event) => record(&event),
                    None => break,
                },
                _ = ticker.tick() => record(&Event::heartbeat()),
            };
            if let Some(bytes) = next {
                yield Ok::<Bytes, Infallible>(bytes);
            }
        }
    };
    Body::from_stream(body)
}

/// An agent's command stream: the core's commands, and a Ping every `ping`.
pub fn agent_body(
    shared: Arc<Shared>,
    stream: StreamId,
    mut commands: mpsc::UnboundedReceiver<AgentCommand>,
    ping: Duration,
) -> Body {
    let body = async_stream::stream! {
        let _guard = CloseGuard { shared, kind: StreamKind::Agent, stream };
        let mut ticker = interval_at(Instant::now() + ping, ping);
        loop {
            let next = tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(command) => record(&command),
                    None => break,
                },
                _ = ticker.tick() => record(&AgentCommand::Ping),
            };
            if let Some(bytes) = next {
                yield Ok::<Bytes, Infallible>(bytes);
            }
        }
    };
    Body::from_stream(body)
}
