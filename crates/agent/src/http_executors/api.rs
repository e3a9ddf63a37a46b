//! `POST /api/v1/executor` as apache/mesos docs/executor-http-api.md defines it: SUBSCRIBE
//! answers 200 with a RecordIO stream of JSON events (SUBSCRIBED first, HEARTBEATs between);
//! UPDATE and MESSAGE answer 202. The executor API has no stream id header.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc::unbounded_channel;
use tokio::time::{Instant, interval_at};

use super::executor::Key;
use super::registry::{CallError, Registry};
use crate::executor_tokens;
use crate::identity::AgentIdentity;
use crate::master_link::MasterLink;
use corral_api::agent_protocol::{ExecutorMessage, MESSAGE_PATH};
use corral_api::executor::{Call, CallType, Event};
use corral_api::recordio;
use corral_http::auth::Caller;
use corral_http::error::{ApiError, parse_json};
use corral_mesos_proto::names::{EXECUTOR_CALL, EXECUTOR_EVENT};

/// How often a subscribed executor hears a HEARTBEAT.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// What the executor API works with.
#[derive(Clone)]
pub struct ExecutorApiState {
    pub registry: Arc<Registry>,
    /// Where an executor's MESSAGE goes.
    pub link: Arc<MasterLink>,
    pub identity: Arc<AgentIdentity>,
}

/// An authenticated caller of the executor API must be the executor its call names: its
/// token's subject and the call's ids agree (anonymous calls reach here only while the agent
/// does not require executor authentication).
fn check_speaks_for_itself(caller: &Caller, call: &Call) -> Result<(), ApiError> {
    let Some(subject) = caller.name() else {
        return Ok(());
    };
    if subject == executor_tokens::subject(&call.framework_id, &call.executor_id) {
        return Ok(());
    }
    tracing::warn!(principal = %subject, framework = %call.framework_id,
        executor = %call.executor_id, "refused an executor call made for another executor");
    Err(ApiError::forbidden(format!(
        "'{subject}' may not call the executor API as executor '{}' of framework '{}'",
        call.executor_id, call.framework_id
    )))
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::BadRequest(m) => ApiError::bad_request(m),
        }
    }
}

pub async fn executor_api(
    State(state): State<ExecutorApiState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    corral_mesos_proto::http::refuse_other_media(&headers)?;
    let body = corral_mesos_proto::http::json_body(&headers, body, EXECUTOR_CALL)?;
    let call: Call = parse_json(&body)?;
    check_speaks_for_itself(&caller, &call)?;
    let key: Key = (call.framework_id.clone(), call.executor_id.clone());
    let registry = &state.registry;
    match call.kind {
        CallType::Subscribe => {
            let updates = call
                .subscribe
                .map(|s| {
                    s.unacknowledged_updates
                        .into_iter()
                        .map(|u| u.status)
                        .collect()
                })
                .unwrap_or_default();
            let format = corral_mesos_proto::http::stream_format(&headers)?;
            let (tx, rx) = unbounded_channel();
            let generation = registry.subscribe(&key, updates, tx).await?;
            let body = event_stream(registry.clone(), key, generation, rx);
            Ok(corral_mesos_proto::http::stream_response(
                body,
                format,
                EXECUTOR_EVENT,
            ))
        }
        CallType::Update => {
            let update = call
                .update
                .ok_or_else(|| ApiError::bad_request("Expecting 'update' to be present"))?;
            registry.update(&key, update.status).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        CallType::Message => {
            let message = call
                .message
                .ok_or_else(|| ApiError::bad_request("Expecting 'message' to be present"))?;
            registry.check(&key)?;
            relay_to_master(
                state.link.clone(),
                state.identity.clone(),
                key,
                message.data,
            );
            Ok(StatusCode::ACCEPTED.into_response())
        }
        CallType::Unknown => Err(ApiError::bad_request("Expecting 'type' to be present")),
    }
}

/// Sends an executor's MESSAGE to the master for its framework. Best effort, as in Mesos:
/// a message the master cannot take is logged and dropped.
fn relay_to_master(link: Arc<MasterLink>, identity: Arc<AgentIdentity>, key: Key, data: String) {
    tokio::spawn(async move {
        let Some(agent_id) = identity.id() else {
            tracing::warn!(
                "dropping a MESSAGE of executor {}: the agent is not registered",
                key.1
            );
            return;
        };
        let message = ExecutorMessage {
            agent_id,
            framework_id: key.0,
            executor_id: key.1,
            data,
        };
        // The master this agent is registered with: `config.master` may list several (HA).
        let url = link.url_now(MESSAGE_PATH);
        match link.http().post(&url).json(&message).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(
                "the master refused a MESSAGE of executor {}: {}",
                message.executor_id,
                r.status()
            ),
            Err(e) => tracing::warn!(
                "cannot relay a MESSAGE of executor {}: {e}",
                message.executor_id
            ),
        }
    });
}

/// Tells the registry when the stream's body is dropped (the executor disconnected).
struct CloseGuard {
    registry: Arc<Registry>,
    key: Key,
    generation: u64,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.registry.stream_closed(&self.key, self.generation);
    }
}

fn event_stream(
    registry: Arc<Registry>,
    key: Key,
    generation: u64,
    mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
) -> Body {
    let body = async_stream::stream! {
        let _guard = CloseGuard { registry, key, generation };
        let mut ticker = interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            let event = tokio::select! {
                biased;
                event = events.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
                _ = ticker.tick() => Event::heartbeat(),
            };
            match serde_json::to_vec(&event) {
                Ok(json) => yield Ok::<Bytes, Infallible>(recordio::encode(&json)),
                Err(e) => tracing::error!("cannot serialize an executor event: {e}"),
            }
        }
    };
    Body::from_stream(body)
}
