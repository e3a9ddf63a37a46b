//! `GET /metrics`: Marathon 1.4-1.5's metrics, a Dropwizard registry as JSON (`version`,
//! `gauges`, `counters`, `histograms`, `meters`, `timers`: the `DropwizardMetrics` RAML type,
//! docs/docs/rest-api/public/api/v2/types/dropwizardMetrics.raml), with the gauges
//! Marathon's monitoring docs name (docs/docs/metrics.md): apps, groups, running and staged
//! tasks, uptime and time as leader in ms.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use corral_api::v1::TaskState;
use serde_json::{Map, Value, json};

use super::respond;
use crate::groups::json::group_ids;
use crate::services::Services;
use crate::time::now_ms;

/// The version Dropwizard's MetricsServlet writes.
const DROPWIZARD_VERSION: &str = "3.0.0";

pub async fn metrics(State(services): State<Arc<Services>>) -> Response {
    let world = services.world.lock().await;
    let count = |state: TaskState| world.tasks.values().filter(|t| t.state == state).count();
    let uptime = now_ms().saturating_sub(services.started_ms);
    let gauges = [
        ("service.mesosphere.marathon.app.count", world.apps.len()),
        // Every group but the root, as Marathon counts them.
        (
            "service.mesosphere.marathon.group.count",
            group_ids(&world.apps, &world.groups)
                .len()
                .saturating_sub(1),
        ),
        (
            "service.mesosphere.marathon.task.running.count",
            count(TaskState::TaskRunning),
        ),
        (
            "service.mesosphere.marathon.task.staged.count",
            count(TaskState::TaskStaging),
        ),
        ("service.mesosphere.marathon.uptime", uptime as usize),
        // This instance leads from its start.
        (
            "service.mesosphere.marathon.leaderDuration",
            uptime as usize,
        ),
    ];
    let gauges: Map<String, Value> = gauges
        .into_iter()
        .map(|(name, value)| (name.to_string(), json!({"value": value})))
        .collect();
    respond::json(
        StatusCode::OK,
        json!({
            "version": DROPWIZARD_VERSION,
            "gauges": gauges,
            "counters": {},
            "histograms": {},
            "meters": {},
            "timers": {},
        }),
    )
}
