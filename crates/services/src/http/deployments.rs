//! `/v2/deployments`: the deployments in progress, and `DELETE /v2/deployments/{id}` (a
//! rollback, 200 with `{deploymentId, version}`; with `force=true` just stopped, 202).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::query::Query;
use super::respond::{self, deployment_result, op_error};
use crate::app_ops::rollback::Cancelled;
use crate::services::Services;

pub async fn list(State(services): State<Arc<Services>>) -> Response {
    let world = services.world.lock().await;
    let list: Vec<Value> = world
        .deployments
        .values()
        .map(|d| d.to_json(&|app| world.readiness_json(app)))
        .collect();
    respond::json(StatusCode::OK, Value::Array(list))
}

pub async fn cancel(
    State(services): State<Arc<Services>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw.as_deref());
    match services
        .cancel_deployment(&id, query.flag("force", false))
        .await
    {
        Ok(Cancelled::Stopped(_)) => StatusCode::ACCEPTED.into_response(),
        Ok(Cancelled::RolledBack { changed, .. }) => deployment_result(&changed, None),
        Err(error) => op_error(error),
    }
}
