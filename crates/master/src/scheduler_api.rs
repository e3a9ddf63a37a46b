//! `POST /api/v1/scheduler`: the Mesos v1 scheduler API, in JSON or protobuf (a protobuf call
//! is read as its JSON; the event stream is re-framed as protobuf when the client asks,
//! `corral_mesos_proto::http`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use corral_api::scheduler::{Call, CallType, Event};
use corral_http::auth::Caller;
use corral_http::error::{ApiError, parse_json};
use corral_mesos_proto::media::StreamFormat;
use corral_mesos_proto::names::{SCHEDULER_CALL, SCHEDULER_EVENT};

use super::effects::StreamId;
use super::shell::Shared;
use super::streams::{framework_body, refusal_body};

pub const STREAM_ID_HEADER: &str = "Mesos-Stream-Id";

pub async fn scheduler(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = corral_mesos_proto::http::json_body(&headers, body, SCHEDULER_CALL)?;
    let call: Call = parse_json(&body)?;
    if call.kind == CallType::Subscribe {
        return subscribe(shared, &headers, call, caller.name());
    }
    let stream_header = header_text(&headers, STREAM_ID_HEADER);
    shared
        .scheduler_call(call, stream_header.as_deref())
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

fn subscribe(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    call: Call,
    principal: Option<&str>,
) -> Result<Response, ApiError> {
    // As Mesos, the stream's format is negotiated (406) before the call is looked at.
    let format = corral_mesos_proto::http::stream_format(headers)?;
    let Some(mut subscribe) = call.subscribe else {
        return Err(ApiError::bad_request("Expecting 'subscribe' to be present"));
    };
    bind_principal(&mut subscribe.framework_info, principal)?;
    let subject = subscribe.framework_info.principal.as_deref();
    // As Mesos (master.cpp, `_subscribe`): a framework its roles are not authorized for gets
    // the stream with one ERROR, then the stream closes.
    if let Err(refused) = shared.authorize_registration(subject, &subscribe.framework_info) {
        let body = refusal_body(&Event::error(refused.message));
        return Ok(stream_response(body, format, None));
    }
    let heartbeat = shared.heartbeat_interval;
    let framework_id = call.framework_id;
    let (stream, _, events) = shared.open_framework_stream(|core, now, stream| {
        core.subscribe(
            now,
            framework_id,
            subscribe,
            stream,
            heartbeat.as_secs_f64(),
        )
    })?;
    let body = framework_body(shared, stream, events, heartbeat);
    Ok(stream_response(body, format, Some(stream)))
}

/// A subscription's answer: its event stream, with the stream id when one was opened.
fn stream_response(body: Body, format: StreamFormat, stream: Option<StreamId>) -> Response {
    let mut response = corral_mesos_proto::http::stream_response(body, format, SCHEDULER_EVENT);
    if let Some(value) = stream.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        response.headers_mut().insert(STREAM_ID_HEADER, value);
    }
    response
}

/// An authenticated framework registers as its principal: `FrameworkInfo.principal` must name
/// it, or is set to it when absent (as Mesos does). The core then binds the framework id to
/// that principal.
fn bind_principal(
    info: &mut corral_api::v1::FrameworkInfo,
    principal: Option<&str>,
) -> Result<(), ApiError> {
    let Some(authenticated) = principal else {
        return Ok(());
    };
    match &info.principal {
        None => {
            info.principal = Some(authenticated.to_string());
            Ok(())
        }
        Some(claimed) if claimed == authenticated => Ok(()),
        Some(claimed) => Err(ApiError::bad_request(format!(
            "Authenticated principal '{authenticated}' does not match principal '{claimed}' set \
             in `FrameworkInfo`"
        ))),
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}
