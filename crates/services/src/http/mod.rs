//! The HTTP API on the component's own port: Marathon's `/v2` routes and `/ping`, served
//! through `corral_http` like every Corral server.

pub mod access;
pub mod app_info;
pub mod app_paths;
pub mod apps;
pub mod auth_realms;
pub mod client_addr;
pub mod deployments;
pub mod events;
pub mod groups;
pub mod metrics;
pub mod query;
pub mod queue;
pub mod respond;
pub mod system;
pub mod tasks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::services::Services;

pub fn router(services: Arc<Services>) -> Router {
    Router::new()
        .route("/ping", get(system::ping))
        .route("/v2/info", get(system::info))
        .route("/v2/leader", get(system::leader))
        .route("/v2/deployments", get(deployments::list))
        .route(
            "/v2/deployments/{id}",
            axum::routing::delete(deployments::cancel),
        )
        .route("/v2/tasks", get(tasks::list))
        .route("/v2/tasks/delete", axum::routing::post(tasks::delete))
        .route("/v2/queue", get(queue::list))
        .route(
            "/v2/queue/{*path}",
            axum::routing::delete(queue::reset_delay),
        )
        .route("/metrics", get(metrics::metrics))
        .route("/v2/events", get(events::stream))
        .route(
            "/v2/groups",
            get(groups::get_root)
                .post(groups::post_root)
                .put(groups::put_root)
                .delete(groups::delete_root),
        )
        .route(
            "/v2/groups/{*path}",
            get(groups::get_path)
                .post(groups::post_path)
                .put(groups::put_path)
                .delete(groups::delete_path),
        )
        .route(
            "/v2/apps",
            get(apps::list)
                .post(apps::create)
                .put(apps::put_many)
                .patch(apps::patch_many),
        )
        .route(
            "/v2/apps/{*path}",
            get(app_paths::get_path)
                .put(app_paths::put_path)
                .patch(app_paths::patch_path)
                .delete(app_paths::delete_path)
                .post(app_paths::post_path),
        )
        .fallback(|| async { app_paths::not_found() })
        .layer(DefaultBodyLimit::max(respond::MAX_BODY_BYTES))
        .with_state(services)
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "router_groups_tests.rs"]
mod groups_tests;

#[cfg(test)]
#[path = "router_queue_tests.rs"]
mod queue_tests;

#[cfg(test)]
#[path = "router_access_tests.rs"]
mod access_tests;
