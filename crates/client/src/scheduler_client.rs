//! A Mesos v1 scheduler client (docs/scheduler-http-api.md): SUBSCRIBE opens a long-lived
//! RecordIO stream of events and names it with the `Mesos-Stream-Id` header; every other call
//! is a separate POST carrying that header and answered `202 Accepted`.
//!
//! The stream is watched for silence: the master sends HEARTBEAT events, so a stream quiet
//! for several heartbeat intervals means the master is gone, and [`EventStream::next`] says
//! so instead of waiting forever.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::client_error::{ClientError, root_cause};
use super::master_address::MasterAddress;
use super::record_stream::RecordStream;
use corral_api::scheduler::{
    Accept, Acknowledge, Call, CallType, Decline, Event, EventType, Kill, Operation, Reconcile,
    ReconcileTask, Roles, Subscribe, Subscribed,
};
use corral_api::v1::{AgentId, Filters, FrameworkId, FrameworkInfo, OfferId, TaskId};

/// The header that ties calls to a subscription.
pub const STREAM_ID_HEADER: &str = "Mesos-Stream-Id";
/// How long to wait for a connection, for SUBSCRIBED, and for a call's answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(15);
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The subscription's event stream, read one event at a time.
pub struct EventStream(RecordStream<Event>);

impl EventStream {
    /// The next event. An error means the subscription is over: the stream ended, broke,
    /// stayed silent past the heartbeat allowance, or carried something unreadable.
    pub async fn next(&mut self) -> Result<Event, ClientError> {
        self.0.next().await
    }

    /// How long the stream may stay silent before `next` gives up.
    pub fn idle_timeout(&self) -> Duration {
        self.0.idle_timeout()
    }
}

/// One subscribed framework: makes calls on behalf of the subscription.
#[derive(Clone)]
pub struct SchedulerClient {
    http: reqwest::Client,
    master: MasterAddress,
    endpoint: String,
    stream_id: String,
    subscribed: Subscribed,
}

impl SchedulerClient {
    /// Subscribes `framework` and waits for SUBSCRIBED. Returns the client for calls and the
    /// stream for the events that follow.
    pub async fn subscribe(
        master: &MasterAddress,
        framework: FrameworkInfo,
    ) -> Result<(SchedulerClient, EventStream), ClientError> {
        let addr = master.to_string();
        let http = master
            .client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Unreachable {
                addr: addr.clone(),
                reason: format!("cannot make an HTTP client: {}", root_cause(&e)),
            })?;
        let endpoint = master.url("/api/v1/scheduler");
        let mut call = Call::new(CallType::Subscribe, framework.id.clone());
        call.subscribe = Some(Subscribe {
            framework_info: framework,
            suppressed_roles: Vec::new(),
        });
        let request = http
            .post(&endpoint)
            .header(ACCEPT, "application/json")
            .json(&call)
            .send();
        let response = match tokio::time::timeout(SUBSCRIBE_TIMEOUT, request).await {
            Err(_) => {
                return Err(ClientError::Unreachable {
                    addr,
                    reason: "no answer to SUBSCRIBE in time".into(),
                });
            }
            Ok(Err(e)) => return Err(ClientError::from_request(&addr, "SUBSCRIBE", &e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let body = response.bytes().await.unwrap_or_default();
            return Err(ClientError::refused(
                &addr,
                "SUBSCRIBE",
                status.as_u16(),
                &body,
            ));
        }
        let stream_id = response
            .headers()
            .get(STREAM_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .ok_or_else(|| ClientError::Protocol {
                addr: addr.clone(),
                reason: format!("SUBSCRIBE answered without a {STREAM_ID_HEADER} header"),
            })?;
        let mut events = EventStream(RecordStream::new(
            addr.clone(),
            "v1 Event",
            response,
            SUBSCRIBE_TIMEOUT,
        ));
        let first = events.next().await?;
        let subscribed = match (first.kind, first.subscribed, first.error) {
            (EventType::Subscribed, Some(subscribed), _) => subscribed,
            (EventType::Error, _, Some(error)) => {
                return Err(ClientError::Refused {
                    addr,
                    what: "SUBSCRIBE".into(),
                    status: status.as_u16(),
                    message: error.message,
                });
            }
            (kind, _, _) => {
                return Err(ClientError::Protocol {
                    addr,
                    reason: format!("the first event is {kind:?}, not SUBSCRIBED"),
                });
            }
        };
        events
            .0
            .follow_heartbeat(subscribed.heartbeat_interval_seconds);
        let client = SchedulerClient {
            http,
            master: master.clone(),
            endpoint,
            stream_id,
            subscribed,
        };
        Ok((client, events))
    }

    pub fn framework_id(&self) -> &FrameworkId {
        &self.subscribed.framework_id
    }

    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    pub fn subscribed(&self) -> &Subscribed {
        &self.subscribed
    }

    pub fn master(&self) -> &MasterAddress {
        &self.master
    }

    /// Sends any call; the framework id is filled in when missing. `Ok` means the master
    /// answered 2xx (it accepted the call for processing, as in Mesos).
    pub async fn call(&self, mut call: Call) -> Result<(), ClientError> {
        if call.framework_id.is_none() {
            call.framework_id = Some(self.subscribed.framework_id.clone());
        }
        let what = serde_json::to_value(call.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| format!("{:?}", call.kind));
        let addr = self.master.to_string();
        let response = self
            .http
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .header(STREAM_ID_HEADER, &self.stream_id)
            .timeout(CALL_TIMEOUT)
            .json(&call)
            .send()
            .await
            .map_err(|e| ClientError::from_request(&addr, &what, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(ClientError::refused(&addr, &what, status.as_u16(), &body))
    }

    pub async fn accept(
        &self,
        offer_ids: Vec<OfferId>,
        operations: Vec<Operation>,
        refuse_seconds: Option<f64>,
    ) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Accept, None);
        call.accept = Some(Accept {
            offer_ids,
            operations,
            filters: refuse_seconds.map(filters),
        });
        self.call(call).await
    }

    pub async fn decline(
        &self,
        offer_ids: Vec<OfferId>,
        refuse_seconds: Option<f64>,
    ) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Decline, None);
        call.decline = Some(Decline {
            offer_ids,
            filters: refuse_seconds.map(filters),
        });
        self.call(call).await
    }

    /// Acknowledges one status update; `uuid` is the update's base64 `uuid` as received.
    pub async fn acknowledge(
        &self,
        agent_id: AgentId,
        task_id: TaskId,
        uuid: String,
    ) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Acknowledge, None);
        call.acknowledge = Some(Acknowledge {
            agent_id,
            task_id,
            uuid,
        });
        self.call(call).await
    }

    pub async fn suppress(&self, roles: Vec<String>) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Suppress, None);
        call.suppress = Some(Roles { roles });
        self.call(call).await
    }

    pub async fn revive(&self, roles: Vec<String>) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Revive, None);
        call.revive = Some(Roles { roles });
        self.call(call).await
    }

    pub async fn kill(
        &self,
        task_id: TaskId,
        agent_id: Option<AgentId>,
    ) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Kill, None);
        call.kill = Some(Kill {
            task_id,
            agent_id,
            kill_policy: None,
        });
        self.call(call).await
    }

    /// Explicit reconciliation of `tasks`, or implicit (every task) when empty.
    pub async fn reconcile(&self, tasks: Vec<ReconcileTask>) -> Result<(), ClientError> {
        let mut call = Call::new(CallType::Reconcile, None);
        call.reconcile = Some(Reconcile { tasks });
        self.call(call).await
    }

    /// Ends the framework: the master kills its tasks and closes the event stream.
    pub async fn teardown(&self) -> Result<(), ClientError> {
        self.call(Call::new(CallType::Teardown, None)).await
    }
}

fn filters(refuse_seconds: f64) -> Filters {
    Filters {
        refuse_seconds: Some(refuse_seconds),
    }
}

#[cfg(test)]
#[path = "scheduler_client_tests.rs"]
mod tests;
