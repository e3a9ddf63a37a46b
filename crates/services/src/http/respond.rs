//! Responses in Marathon's shapes: JSON bodies, `{"message": ...}` errors, the 422 details,
//! the 409 with the locking deployments, and `{"version", "deploymentId"}` for changes.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app_ops::Changed;
use crate::op_error::OpError;

/// Requests larger than this are refused with 413 (an app definition is a few KiB; etcd
/// refuses values over 1.5 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub const APP_LOCKED: &str = "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

/// The header Marathon names a change's deployment in.
pub const DEPLOYMENT_HEADER: &str = "Marathon-Deployment-Id";

pub fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub fn message(status: StatusCode, text: impl Into<String>) -> Response {
    corral_http::ApiError::new(status, text).into_response()
}

pub fn op_error(error: OpError) -> Response {
    match error {
        OpError::Invalid(violations) => {
            json(StatusCode::UNPROCESSABLE_ENTITY, violations.to_json())
        }
        OpError::NotFound(text) => message(StatusCode::NOT_FOUND, text),
        OpError::Locked(ids) => {
            let deployments: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
            json(
                StatusCode::CONFLICT,
                json!({"message": APP_LOCKED, "deployments": deployments}),
            )
        }
        OpError::Conflict(text) => message(StatusCode::CONFLICT, text),
        OpError::BadRequest(text) => message(StatusCode::BAD_REQUEST, text),
        OpError::Store(text) => message(StatusCode::SERVICE_UNAVAILABLE, text),
    }
}

/// `{"version", "deploymentId"}` with the deployment header; 201 with `Location` when the
/// change created the app at `created_path`.
pub fn deployment_result(changed: &Changed, created_path: Option<&str>) -> Response {
    let body = json!({"version": changed.version, "deploymentId": changed.deployment_id});
    let status = if changed.created && created_path.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json(status, body);
    add_header(&mut response, DEPLOYMENT_HEADER, &changed.deployment_id);
    if let (true, Some(path)) = (changed.created, created_path) {
        add_header(&mut response, header::LOCATION.as_str(), path);
    }
    response
}

pub fn add_header(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        header::HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

/// The request body as JSON: 413 when too large, 400 when not JSON (the error is the
/// response to send).
pub fn body_json(body: Result<Bytes, BytesRejection>) -> Result<Value, Box<Response>> {
    let bytes = body.map_err(|rejection| {
        Box::new(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            message(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body is larger than the limit of {MAX_BODY_BYTES} bytes"),
            )
        } else {
            message(rejection.status(), rejection.body_text())
        })
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(json(
            StatusCode::BAD_REQUEST,
            json!({"message": "Invalid JSON", "details": e.to_string()}),
        ))
    })
}
