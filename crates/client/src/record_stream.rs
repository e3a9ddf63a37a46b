//! A long-lived RecordIO stream of JSON events, as both v1 SUBSCRIBE calls (scheduler and
//! operator) answer. The master sends HEARTBEAT events, so a stream quiet for several heartbeat
//! intervals means the master is gone: `next` says so instead of waiting forever.

use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use super::client_error::{ClientError, root_cause};
use corral_api::recordio::Decoder;

/// Mesos' default when SUBSCRIBED does not say.
const DEFAULT_HEARTBEAT_SECONDS: f64 = 15.0;
/// Heartbeats that may be missed before the master counts as gone.
const MISSED_HEARTBEATS: f64 = 3.0;

/// Events of type `T`, read one at a time from a SUBSCRIBE answer's body.
pub(crate) struct RecordStream<T> {
    master: String,
    /// What an event is, for errors ("v1 Event").
    what: &'static str,
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: Decoder,
    idle_timeout: Duration,
    event: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> RecordStream<T> {
    /// Reads `response`'s body; `idle_timeout` holds until the heartbeat is known.
    pub(crate) fn new(
        master: String,
        what: &'static str,
        response: reqwest::Response,
        idle_timeout: Duration,
    ) -> Self {
        RecordStream {
            master,
            what,
            body: Box::pin(response.bytes_stream()),
            decoder: Decoder::default(),
            idle_timeout,
            event: PhantomData,
        }
    }

    /// From SUBSCRIBED's `heartbeat_interval_seconds` on, silence past a few heartbeats ends
    /// the stream.
    pub(crate) fn follow_heartbeat(&mut self, heartbeat_interval_seconds: Option<f64>) {
        let heartbeat = heartbeat_interval_seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(DEFAULT_HEARTBEAT_SECONDS);
        self.idle_timeout = Duration::from_secs_f64(heartbeat * MISSED_HEARTBEATS);
    }

    /// The next event. An error means the subscription is over: the stream ended, broke,
    /// stayed silent past the heartbeat allowance, or carried something unreadable.
    pub(crate) async fn next(&mut self) -> Result<T, ClientError> {
        loop {
            match self.decoder.next_record() {
                Ok(Some(record)) => {
                    return serde_json::from_slice(&record).map_err(|e| ClientError::Protocol {
                        addr: self.master.clone(),
                        reason: format!(
                            "event is not a {}: {e}: {}",
                            self.what,
                            String::from_utf8_lossy(&record[..record.len().min(200)])
                        ),
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(ClientError::Protocol {
                        addr: self.master.clone(),
                        reason: format!("bad RecordIO framing: {e}"),
                    });
                }
            }
            let disconnected = |reason: String| ClientError::Disconnected {
                addr: self.master.clone(),
                reason,
            };
            match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
                Err(_) => {
                    return Err(disconnected(format!(
                        "no event or heartbeat for {:.1}s",
                        self.idle_timeout.as_secs_f64()
                    )));
                }
                Ok(None) => return Err(disconnected("the master closed the event stream".into())),
                Ok(Some(Err(e))) => return Err(disconnected(root_cause(&e))),
                Ok(Some(Ok(chunk))) => self.decoder.feed(&chunk),
            }
        }
    }

    /// How long the stream may stay silent before `next` gives up.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }
}
