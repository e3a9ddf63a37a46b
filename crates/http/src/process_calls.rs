//! The v1 operator calls about the process itself, answered alike by masters and agents
//! (apache/mesos `include/mesos/v1/master/master.proto` and `agent/agent.proto`, handlers in
//! `src/master/http.cpp` and `src/common/http.cpp`): GET_FLAGS, GET_LOGGING_LEVEL and
//! SET_LOGGING_LEVEL. Like Mesos, SET_LOGGING_LEVEL holds the level for `duration`, then
//! returns to the level the process started with, and answers 200 with no body.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, parse_json};
use super::process_info::{flags, log_control};

/// Each SET_LOGGING_LEVEL's number: a revert fires only if no later SET came in between.
static GENERATION: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SetLoggingLevelCall {
    set_logging_level: Option<SetLoggingLevel>,
}

#[derive(Debug, Deserialize)]
struct SetLoggingLevel {
    level: Option<serde_json::Value>,
    duration: Option<DurationInfo>,
}

#[derive(Debug, Deserialize)]
struct DurationInfo {
    nanoseconds: serde_json::Value,
}

/// The answer when `body` is one of these calls; `None` for any other call.
pub fn answer(body: &[u8]) -> Option<Result<Response, ApiError>> {
    let kind = serde_json::from_slice::<TypeOnly>(body).ok()?.kind?;
    match kind.as_str() {
        "GET_FLAGS" => Some(Ok(get_flags())),
        "GET_LOGGING_LEVEL" => Some(get_logging_level()),
        "SET_LOGGING_LEVEL" => Some(set_logging_level(body)),
        _ => None,
    }
}

fn get_flags() -> Response {
    let flags: Vec<_> = flags()
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    Json(json!({"type": "GET_FLAGS", "get_flags": {"flags": flags}})).into_response()
}

fn get_logging_level() -> Result<Response, ApiError> {
    let control = log_control().ok_or_else(no_control)?;
    Ok(Json(json!({
        "type": "GET_LOGGING_LEVEL",
        "get_logging_level": {"level": control.level()}
    }))
    .into_response())
}

fn set_logging_level(body: &[u8]) -> Result<Response, ApiError> {
    let call: SetLoggingLevelCall = parse_json(body)?;
    let set = call
        .set_logging_level
        .ok_or_else(|| ApiError::bad_request("Expecting 'set_logging_level' to be present"))?;
    let level = set
        .level
        .as_ref()
        .and_then(number)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            ApiError::bad_request("'set_logging_level.level' must be a non-negative integer")
        })?;
    let nanos = set
        .duration
        .as_ref()
        .and_then(|d| number(&d.nanoseconds))
        .ok_or_else(|| {
            ApiError::bad_request(
                "'set_logging_level.duration.nanoseconds' must be a non-negative integer \
                 (how long the level holds before it reverts)",
            )
        })?;
    let control = log_control().ok_or_else(no_control)?;
    control.set_level(level).map_err(ApiError::internal)?;
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!(level, seconds = nanos as f64 / 1e9, "logging level set");
    // Shows in the log only when the new filter lets debug through.
    tracing::debug!(level, "verbose logging is on");
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_nanos(nanos)).await;
        if GENERATION.load(Ordering::SeqCst) == generation {
            match control.set_level(0) {
                Ok(()) => tracing::info!("logging level reverted to the original level"),
                Err(e) => tracing::warn!("cannot revert the logging level: {e}"),
            }
        }
    });
    Ok(StatusCode::OK.into_response())
}

/// A uint as protobuf's JSON mapping writes it: a number or a decimal string.
fn number(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn no_control() -> ApiError {
    ApiError::unavailable("This process has no run-time control of its log level")
}
