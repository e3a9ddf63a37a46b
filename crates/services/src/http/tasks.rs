//! `GET /v2/tasks`: every task of every app the caller may view, with the app's service
//! ports; `status=running` or `status=staging` (also as `status[]`) filters.
//! `POST /v2/tasks/delete` kills tasks (`manage_apps` on each of their apps).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use corral_http::auth::Caller;
use serde_json::{Value, json};

use super::query::Query;
use super::respond;
use crate::app_ops::Killed;
use crate::op_error::OpError;
use crate::services::Services;
use crate::tasks::TaskRecord;
use crate::tasks::json::task_json;
use crate::validation::Violations;

pub async fn list(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let view = services
        .view(&caller, |world| world.apps.keys().cloned().collect())
        .await;
    let statuses: Vec<String> = query
        .all("status")
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let world = services.world.lock().await;
    let tasks: Vec<Value> = world
        .tasks
        .values()
        .filter(|t| {
            statuses.is_empty()
                || (statuses.iter().any(|s| s == "running") && t.is_running())
                || (statuses.iter().any(|s| s == "staging") && t.is_staging())
        })
        .filter(|t| view.app(&t.app_id))
        .filter_map(|t| {
            let app = world.apps.get(&t.app_id)?;
            Some(world.task_json(t, &app.service_ports()))
        })
        .collect();
    respond::json(StatusCode::OK, json!({"tasks": tasks}))
}

/// `POST /v2/tasks/delete` with `{"ids": [...]}`: kills those tasks (replaced, or with
/// `scale=true` their apps scaled down by as many, in one deployment). Ids of no task are
/// skipped; an id that names no app is a bad request, as in Marathon's TasksResource.
pub async fn delete(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    caller: Caller,
    body: super::apps::Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let (scale, force) = (query.flag("scale", false), query.flag("force", false));
    if scale && query.flag("wipe", false) {
        return respond::message(
            StatusCode::BAD_REQUEST,
            "You cannot use scale and wipe at the same time.",
        );
    }
    let body = match respond::body_json(body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let ids: Option<Vec<String>> = body["ids"]
        .as_array()
        .and_then(|ids| ids.iter().map(|id| id.as_str().map(String::from)).collect());
    let Some(ids) = ids else {
        let mut v = Violations::new();
        v.add("/ids", "must be an array of task ids");
        return respond::op_error(OpError::Invalid(v));
    };
    if let Some(bad) = ids.iter().find(|id| TaskRecord::app_of(id).is_none()) {
        return respond::message(StatusCode::BAD_REQUEST, format!("Invalid task id '{bad}'."));
    }
    let apps = ids.iter().filter_map(|id| TaskRecord::app_of(id));
    if let Err(refused) = services.may_manage(&caller, apps.map(|app| app.to_string())) {
        return *refused;
    }
    match services.kill_by_ids(&ids, scale, force).await {
        Ok(Killed::Scaled(changed)) => respond::deployment_result(&changed, None),
        Ok(Killed::Tasks(tasks)) => {
            let tasks: Vec<Value> = tasks.iter().map(|t| task_json(t, &[])).collect();
            respond::json(StatusCode::OK, json!({"tasks": tasks}))
        }
        Err(error) => respond::op_error(error),
    }
}
