//! `/v2/apps`: list (with `cmd`, `id` and `label` filters; what the caller may view), create,
//! and update many (`manage_apps` on each app named).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use corral_http::auth::Caller;

use super::access::named_apps;
use super::app_info::{Embed, app_info};
use super::client_addr::{Peer, publish_api_posts};
use super::query::Query;
use super::respond::{self, DEPLOYMENT_HEADER, add_header, body_json, deployment_result, op_error};
use crate::model::App;
use crate::path_id::PathId;
use crate::services::Services;
use crate::time::now_ms;

pub(super) type Body = Result<Bytes, BytesRejection>;

pub async fn list(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let view = services
        .view(&caller, |world| world.apps.keys().cloned().collect())
        .await;
    let embed = Embed::list_default().with(&query.all("embed"));
    let cmd = query.get("cmd").map(str::to_lowercase);
    let id = query.get("id").map(str::to_lowercase);
    let label = query.get("label");
    let world = services.world.lock().await;
    let now = now_ms();
    let apps: Vec<Value> = world
        .apps
        .values()
        .filter(|app| view.app(&app.id))
        .filter(|app| {
            cmd.as_ref().is_none_or(|c| {
                app.cmd
                    .as_ref()
                    .is_some_and(|cmd| cmd.to_lowercase().contains(c.as_str()))
            }) && id
                .as_ref()
                .is_none_or(|i| app.id.to_lowercase().contains(i.as_str()))
                && label.is_none_or(|selector| labels_match(app, selector))
        })
        .map(|app| app_info(&world, app, embed, now))
        .collect();
    respond::json(StatusCode::OK, json!({"apps": apps}))
}

/// A label selector: comma-separated `key`, `key==value` or `key!=value` terms, all of
/// which must hold.
fn labels_match(app: &App, selector: &str) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((key, value)) = term.split_once("!=") {
                app.labels.get(key.trim()).map(String::as_str) != Some(value.trim())
            } else if let Some((key, value)) = term.split_once("==") {
                app.labels.get(key.trim()).map(String::as_str) == Some(value.trim())
            } else {
                app.labels.contains_key(term)
            }
        })
}

pub async fn create(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    peer: Peer,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let body = match body_json(body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    // An app without an id touches nothing: the change refuses it.
    let named = body["id"].as_str().map(|id| PathId::parse(id).to_string());
    if let Err(refused) = services.may_manage(&caller, named) {
        return *refused;
    }
    match services.create_app(&body, query.flag("force", false)).await {
        Ok(created) => {
            publish_api_posts(
                &services,
                &peer,
                "/v2/apps",
                std::slice::from_ref(&created.app.id),
            )
            .await;
            let mut object = created.app.to_json();
            object.extend([
                ("tasksStaged".to_string(), json!(0)),
                ("tasksRunning".to_string(), json!(0)),
                ("tasksHealthy".to_string(), json!(0)),
                ("tasksUnhealthy".to_string(), json!(0)),
                (
                    "deployments".to_string(),
                    json!([{"id": created.deployment_id}]),
                ),
                ("tasks".to_string(), json!([])),
            ]);
            let mut response = respond::json(StatusCode::CREATED, Value::Object(object));
            add_header(&mut response, "Location", &app_url(&created.app.id));
            add_header(&mut response, DEPLOYMENT_HEADER, &created.deployment_id);
            response
        }
        Err(error) => op_error(error),
    }
}

pub(super) fn app_url(id: &str) -> String {
    format!("/v2/apps{id}")
}

pub async fn put_many(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    peer: Peer,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    update_many(
        &services,
        (&peer, &caller),
        body,
        query.flag("partialUpdate", true),
        query.flag("force", false),
        true,
    )
    .await
}

pub async fn patch_many(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    peer: Peer,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    update_many(
        &services,
        (&peer, &caller),
        body,
        true,
        query.flag("force", false),
        false,
    )
    .await
}

async fn update_many(
    services: &Services,
    (peer, caller): (&Peer, &Caller),
    body: Body,
    partial: bool,
    force: bool,
    allow_create: bool,
) -> Response {
    let body = match body_json(body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    if let Err(refused) = services.may_manage(caller, named_apps(&body)) {
        return *refused;
    }
    match services
        .update_apps(&body, partial, force, allow_create)
        .await
    {
        Ok(changed) => {
            publish_api_posts(services, peer, "/v2/apps", &named_apps(&body)).await;
            deployment_result(&changed, None)
        }
        Err(error) => op_error(error),
    }
}
