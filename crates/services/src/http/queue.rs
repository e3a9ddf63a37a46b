//! `/v2/queue`: every app waiting for tasks to launch, with how many (`count`), its launch
//! delay, since when it waits and why (`processedOffersSummary`; `embed=lastUnusedOffers`
//! adds the last offers it could not use and the reason), of the apps the caller may view;
//! `DELETE /v2/queue/{id}/delay` ends an app's launch delay (`manage_apps` on the app).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use corral_http::auth::Caller;
use serde_json::{Value, json};

use super::query::Query;
use super::respond;
use crate::path_id::PathId;
use crate::scheduler::plan::plan;
use crate::services::Services;
use crate::time::{Timestamp, now_ms};

pub async fn list(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let unused = query.all("embed").contains(&"lastUnusedOffers");
    let view = services
        .view(&caller, |world| world.apps.keys().cloned().collect())
        .await;
    let now = now_ms();
    let world = services.world.lock().await;
    let plan = plan(&world, now);
    let queue: Vec<Value> = plan
        .launches
        .iter()
        .chain(&plan.delayed)
        .filter(|wait| view.app(&wait.app_id))
        .filter_map(|wait| {
            let app = world.apps.get(&wait.app_id)?;
            let left_ms = world
                .delays
                .get(&app.id)
                .filter(|d| d.holds(app, now))
                .map_or(0, |d| d.deadline_ms().saturating_sub(now));
            let stats = world.offer_stats.get(&app.id);
            let mut item = json!({
                "app": app.to_json(),
                "count": wait.count,
                "delay": {"timeLeftSeconds": left_ms.div_ceil(1000), "overdue": left_ms == 0},
                "since": Timestamp(stats.map_or(now, |s| s.since)),
                "processedOffersSummary": stats.map_or_else(
                    || crate::scheduler::offer_stats::OfferStats::new(now).summary_json(),
                    |s| s.summary_json(),
                ),
            });
            if let (true, Some(map)) = (unused, item.as_object_mut()) {
                map.insert(
                    "lastUnusedOffers".into(),
                    stats.map_or(json!([]), |s| s.last_unused_json()),
                );
            }
            Some(item)
        })
        .collect();
    respond::json(StatusCode::OK, json!({"queue": queue}))
}

pub async fn reset_delay(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    caller: Caller,
) -> Response {
    let Some(app) = path.trim_end_matches('/').strip_suffix("/delay") else {
        return super::app_paths::not_found();
    };
    let id = PathId::parse(app).to_string();
    if let Err(refused) = services.may_manage(&caller, [id.clone()]) {
        return *refused;
    }
    let mut world = services.world.lock().await;
    let now = now_ms();
    let waiting = plan(&world, now);
    let waiting = waiting
        .launches
        .iter()
        .chain(&waiting.delayed)
        .any(|l| l.app_id == id);
    if !waiting {
        return respond::message(
            StatusCode::NOT_FOUND,
            format!("Application {id} not found in tasks queue."),
        );
    }
    world.delays.remove(&id);
    drop(world);
    services.changed(true);
    StatusCode::NO_CONTENT.into_response()
}
