//! `/v2/deployments`: the deployments in progress (those affecting an app the caller may
//! view), and `DELETE /v2/deployments/{id}` (a rollback, 200 with `{deploymentId, version}`;
//! with `force=true` just stopped, 202), which needs `manage_apps` on every app it affects,
//! as Marathon's DeploymentsResource.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use corral_http::auth::Caller;
use serde_json::Value;

use super::query::Query;
use super::respond::{self, deployment_result, op_error};
use crate::app_ops::rollback::Cancelled;
use crate::services::Services;

pub async fn list(State(services): State<Arc<Services>>, caller: Caller) -> Response {
    let affected = |world: &crate::world::World| {
        let deployments = world.deployments.values();
        deployments.flat_map(|d| d.affected_apps.clone()).collect()
    };
    let view = services.view(&caller, affected).await;
    let world = services.world.lock().await;
    let list: Vec<Value> = world
        .deployments
        .values()
        .filter(|d| d.affected_apps.iter().any(|app| view.app(app)))
        .map(|d| d.to_json(&|app| world.readiness_json(app)))
        .collect();
    respond::json(StatusCode::OK, Value::Array(list))
}

pub async fn cancel(
    State(services): State<Arc<Services>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let affected = |world: &crate::world::World| {
        let deployment = world.deployments.get(&id);
        deployment
            .map(|d| d.affected_apps.clone())
            .unwrap_or_default()
    };
    if let Err(refused) = services.may_manage_in(&caller, affected).await {
        return *refused;
    }
    match services
        .cancel_deployment(&id, query.flag("force", false))
        .await
    {
        Ok(Cancelled::Stopped(_)) => StatusCode::ACCEPTED.into_response(),
        Ok(Cancelled::RolledBack { changed, .. }) => deployment_result(&changed, None),
        Err(error) => op_error(error),
    }
}
