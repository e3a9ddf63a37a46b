//! `GET /v2/tasks`: every task of every app, with the app's service ports; `status=running`
//! or `status=staging` (also as `status[]`) filters.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::query::Query;
use super::respond;
use crate::services::Services;

pub async fn list(State(services): State<Arc<Services>>, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
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
        .filter_map(|t| {
            let app = world.apps.get(&t.app_id)?;
            Some(world.task_json(t, &app.service_ports()))
        })
        .collect();
    respond::json(StatusCode::OK, json!({"tasks": tasks}))
}
