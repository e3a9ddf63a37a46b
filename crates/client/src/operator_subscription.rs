//! The operator API's event stream (`SUBSCRIBE` on `POST /api/v1`, master.proto's `Event`):
//! SUBSCRIBED with the whole state first, then every change, and HEARTBEATs. A stream quiet
//! for several heartbeat intervals counts as lost, as the scheduler client does.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::client_error::{ClientError, root_cause};
use super::master_address::MasterAddress;
use super::record_stream::RecordStream;
use corral_api::operator_events::{OperatorEvent, OperatorEventType, OperatorSubscribed};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the answer's head and the SUBSCRIBED event.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(15);

/// A subscription to a master's operator events, read one event at a time.
pub struct OperatorEventStream(RecordStream<OperatorEvent>);

impl OperatorEventStream {
    /// Subscribes; returns the stream and the SUBSCRIBED event's content (the whole state).
    pub async fn subscribe(
        master: &MasterAddress,
    ) -> Result<(OperatorEventStream, OperatorSubscribed), ClientError> {
        let addr = master.to_string();
        let what = "SUBSCRIBE";
        let http = master
            .client_builder()
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
        let mut stream = OperatorEventStream(RecordStream::new(
            addr.clone(),
            "v1 operator Event",
            response,
            SUBSCRIBE_TIMEOUT,
        ));
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
        stream
            .0
            .follow_heartbeat(subscribed.heartbeat_interval_seconds);
        Ok((stream, subscribed))
    }

    /// The next event (HEARTBEATs included). An error means the subscription is over: the
    /// stream ended, broke, stayed silent past the heartbeat allowance, or was unreadable.
    pub async fn next(&mut self) -> Result<OperatorEvent, ClientError> {
        self.0.next().await
    }

    /// How long the stream may stay silent before `next` gives up.
    pub fn idle_timeout(&self) -> Duration {
        self.0.idle_timeout()
    }
}

#[cfg(test)]
#[path = "operator_subscription_tests.rs"]
mod tests;
