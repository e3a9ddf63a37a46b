//! The master's HTTP routes.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::api::agent_protocol::{MESSAGE_PATH, SUBSCRIBE_PATH, UPDATE_PATH};

use super::shell::Shared;
use super::{agent_api, operator_api, scheduler_api};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/scheduler", post(scheduler_api::scheduler))
        .route("/api/v1", post(operator_api::operator))
        .route("/api/v1/operator", post(operator_api::operator))
        .route(SUBSCRIBE_PATH, post(agent_api::subscribe))
        .route(UPDATE_PATH, post(agent_api::update))
        .route(MESSAGE_PATH, post(agent_api::executor_message))
        .route("/version", get(operator_api::get_version))
        .route("/health", get(operator_api::get_health))
        .route("/metrics", get(operator_api::get_metrics))
        .route("/allocator", get(operator_api::get_allocator))
        .with_state(shared)
}
