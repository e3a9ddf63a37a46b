//! The operator API's event stream (`SUBSCRIBE` on `POST /api/v1`, master.proto's `Event`):
//! SUBSCRIBED with the whole state first, then every change, and HEARTBEATs. A stream quiet
//! for several heartbeat intervals counts as lost, as the scheduler client does.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::client_error::{ClientError, root_cause};
use super::master_address::MasterAddress;
use corral_api::operator_events::{OperatorEvent, OperatorEventType, OperatorSubscribed};
use corral_api::recordio::Decoder;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the answer's head and the SUBSCRIBED event.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Mesos' default when SUBSCRIBED does not say.
const DEFAULT_HEARTBEAT_SECONDS: f64 = 15.0;
/// Heartbeats that may be missed before the master counts as gone.
const MISSED_HEARTBEATS: f64 = 3.0;

/// A subscription to a master's operator events, read one event at a time.
pub struct OperatorEventStream {
    master: String,
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: Decoder,
    idle_timeout: Duration,
}

impl OperatorEventStream {
    /// Subscribes; returns the stream and the SUBSCRIBED event's content (the whole state).
    pub async fn subscribe(
        master: &MasterAddress,
    ) -> Result<(OperatorEventStream, OperatorSubscribed), ClientError> {
        let addr = master.to_string();
        let what = "SUBSCRIBE";
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Unreachable {
                addr: addr.clone(),
                reason: format!("cannot make an HTTP client: {}", root_cause(&e)),
            })?;
        let request = http
            .post(master.url("/api/v1"))
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(r#"{"type":"SUBSCRIBE"}"#)
            .send();
        let response = tokio::time::timeout(SUBSCRIBE_TIMEOUT, request)
            .await
            .map_err(|_| ClientError::Unreachable {
                addr: addr.clone(),
                reason: "no answer to SUBSCRIBE in time".into(),
            })?
            .map_err(|e| ClientError::from_request(&addr, what, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(ClientError::refused(&addr, what, status.as_u16(), &body));
        }
        let mut stream = OperatorEventStream {
            master: addr.clone(),
            body: Box::pin(response.bytes_stream()),
            decoder: Decoder::default(),
            idle_timeout: SUBSCRIBE_TIMEOUT,
        };
        let first = stream.next().await?;
        let subscribed = match (first.kind, first.subscribed) {
            (OperatorEventType::Subscribed, Some(subscribed)) => subscribed,
            (kind, _) => {
                return Err(ClientError::Protocol {
                    addr,
                    reason: format!("the stream began with {kind:?}, not SUBSCRIBED"),
                });
            }
        };
        let heartbeat = subscribed
            .heartbeat_interval_seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(DEFAULT_HEARTBEAT_SECONDS);
        stream.idle_timeout = Duration::from_secs_f64(heartbeat * MISSED_HEARTBEATS);
        Ok((stream, subscribed))
    }

    /// The next event (HEARTBEATs included). An error means the subscription is over: the
    /// stream ended, broke, stayed silent past the heartbeat allowance, or was unreadable.
    pub async fn next(&mut self) -> Result<OperatorEvent, ClientError> {
        loop {
            match self.decoder.next_record() {
                Ok(Some(record)) => {
                    return serde_json::from_slice(&record).map_err(|e| ClientError::Protocol {
                        addr: self.master.clone(),
                        reason: format!(
                            "event is not a v1 operator Event: {e}: {}",
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
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }
}

#[cfg(test)]
#[path = "operator_subscription_tests.rs"]
mod tests;
