//! `/ping`, `/v2/info`, `/v2/leader` and `/v2/deployments`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::respond;
use crate::services::{Services, ServicesConfig};

/// The Marathon version whose API this serves (clients pick features by it).
pub const MARATHON_VERSION: &str = "1.6.0";

pub async fn ping() -> Response {
    ([("content-type", "text/plain; charset=utf-8")], "pong").into_response()
}

pub async fn leader(State(services): State<Arc<Services>>) -> Response {
    respond::json(StatusCode::OK, json!({"leader": services.advertised()}))
}

/// Marathon's `/v2/info` keys (`examples/info.json`), with this instance's values; settings
/// Corral does not have are null, as Marathon writes unset options.
pub async fn info(State(services): State<Arc<Services>>) -> Response {
    let config = &services.config;
    let leader = services.advertised();
    let body = json!({
        "name": "marathon",
        "version": MARATHON_VERSION,
        "buildref": format!("corral-{}", corral_api::VERSION),
        "elected": true,
        "leader": leader,
        "frameworkId": services.framework_id(),
        "marathon_config": marathon_config(&services),
        "zookeeper_config": {
            "zk": config.state_description,
            "zk_compression": true,
            "zk_compression_threshold": 65_536,
            "zk_connection_timeout": 10_000,
            "zk_max_node_size": 1_024_000,
            "zk_max_versions": crate::store::MAX_VERSIONS,
            "zk_session_timeout": 10_000,
            "zk_timeout": 10_000,
        },
        "http_config": {
            "http_port": config.listen.port(),
            "https_port": 8443,
        },
    });
    respond::json(StatusCode::OK, body)
}

/// The `marathon_config` object of `/v2/info`.
fn marathon_config(services: &Services) -> Value {
    let config = &services.config;
    json!({
        "access_control_allow_origin": null,
        "checkpoint": true,
        "decline_offer_duration": 120_000,
        "default_network_name": null,
        "env_vars_prefix": null,
        "executor": "//cmd",
        "failover_timeout": ServicesConfig::FAILOVER_TIMEOUT_SECONDS as u64,
        "features": [],
        "framework_name": config.framework_name,
        "ha": false,
        "hostname": config.hostname,
        "launch_token": 100,
        "launch_token_refresh_interval": 30_000,
        "leader_proxy_connection_timeout_ms": 5_000,
        "leader_proxy_read_timeout_ms": 10_000,
        "local_port_max": crate::stored_form::SERVICE_PORT_MAX,
        "local_port_min": crate::stored_form::SERVICE_PORT_MIN,
        "master": config.master,
        "max_instances_per_offer": 5,
        "mesos_bridge_name": "mesos-bridge",
        "mesos_heartbeat_failure_threshold": 5,
        "mesos_heartbeat_interval": 15_000,
        "mesos_leader_ui_url": null,
        "mesos_role": config.role,
        "mesos_user": config.user,
        "min_revive_offers_interval": 5_000,
        "offer_matching_timeout": 3_000,
        "on_elected_prepare_timeout": 180_000,
        "reconciliation_initial_delay": 15_000,
        "reconciliation_interval": 600_000,
        "revive_offers_for_new_apps": true,
        "revive_offers_repetitions": 3,
        "scale_apps_initial_delay": 15_000,
        "scale_apps_interval": 300_000,
        "store_cache": true,
        "task_launch_confirm_timeout": 300_000,
        "task_launch_timeout": 300_000,
        "task_lost_expunge_initial_delay": 300_000,
        "task_lost_expunge_interval": 30_000,
        "task_reservation_timeout": 20_000,
        "webui_url": services.base_url(),
    })
}
