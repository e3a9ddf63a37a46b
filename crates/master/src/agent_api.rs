//! The master's side of the agent protocol (`corral_api::agent_protocol`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use corral_api::agent_protocol::{
    AgentSubscribe, ExecutorMessage, PING_INTERVAL_SECS, StatusUpdateMessage,
};
use corral_http::auth::Caller;
use corral_http::error::{ApiError, parse_json};

use super::plugin_fanout::send_active_set;
use super::shell::Shared;
use super::streams::agent_body;

/// `POST /internal/v1/agent/subscribe`: 200 with a RecordIO stream of commands that starts
/// with `Registered`.
pub async fn subscribe(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: AgentSubscribe = parse_json(&body)?;
    let principal = caller.name();
    let (stream, agent_id, commands) = shared.register_agent(request, principal).await?;
    // After `Registered`: the plugins activated for agents (it catches up on what changed
    // while it was away).
    let for_plugins = shared.clone();
    tokio::spawn(async move {
        send_active_set(&for_plugins, Some(agent_id)).await;
    });
    let ping = Duration::from_secs(PING_INTERVAL_SECS);
    let mut response = Response::new(agent_body(shared, stream, commands, ping));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `POST /internal/v1/agent/update`: 202, or 400 for an agent the master does not know.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let message: StatusUpdateMessage = parse_json(&body)?;
    let principal = caller.name();
    shared.with_core(|core, _| {
        core.check_agent_caller(&message.agent_id, principal)?;
        core.status_update(message)
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /internal/v1/agent/message`: an executor's MESSAGE for its framework; 202, or 400
/// for an agent the master does not know.
pub async fn executor_message(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let message: ExecutorMessage = parse_json(&body)?;
    let principal = caller.name();
    shared.with_core(|core, _| {
        core.check_agent_caller(&message.agent_id, principal)?;
        core.executor_message(message)
    })?;
    Ok(StatusCode::ACCEPTED)
}
