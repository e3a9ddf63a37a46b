//! DC/OS' cluster endpoints that Admin Router answers on the leading master (dcos/dcos
//! `packages/adminrouter/extra/src/includes/server/master.conf` and `lib/metadata.lua`):
//! `/metadata`, `/dcos-metadata/dcos-version.json`, `/pkgpanda/active.buildinfo.full.json`,
//! `/capabilities` and `/acs/api/v1/auth/providers`. Corral has no authentication yet, so
//! the metadata is open to all (as DC/OS' open edition), and the IAM answers 404. The
//! cluster linker (`/cluster/v1/links`) is DC/OS Enterprise's: as on the open edition, it
//! answers 404, which the DC/OS CLI reads as "this cluster has no links".

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use corral_http::error::ApiError;

use super::v0_state::MasterFacts;

/// Cosmos' media type for `/capabilities`.
pub const CAPABILITIES_MEDIA_TYPE: &str =
    "application/vnd.dcos.capabilities+json;charset=utf-8;version=v1";

pub fn routes(facts: Arc<MasterFacts>) -> Router {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/dcos-metadata/dcos-version.json", get(dcos_version))
        // axum answers HEAD from the GET route, without the body.
        .route("/pkgpanda/active.buildinfo.full.json", get(buildinfo))
        .route("/capabilities", get(capabilities))
        .route("/acs/api/v1/auth/providers", get(auth_providers))
        .route("/cluster/v1/links", any(no_cluster_linker))
        .route("/cluster/v1/links/{id}", any(no_cluster_linker))
        .with_state(facts)
}

fn json_as(value: &Value, media: &'static str) -> Response {
    let mut response = value.to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response
}

/// `{"PUBLIC_IPV4": ..., "CLUSTER_ID": ...}` as `metadata.lua` writes it.
async fn metadata(State(facts): State<Arc<MasterFacts>>) -> Response {
    let value = json!({
        "PUBLIC_IPV4": facts.public_ip,
        "CLUSTER_ID": facts.cluster_id,
    });
    json_as(&value, "application/json")
}

/// `/opt/mesosphere/etc/dcos-version.json`'s keys: Corral's own version; it has no DC/OS
/// image or bootstrap build, so those two are empty.
async fn dcos_version() -> Response {
    let value = json!({
        "version": corral_api::VERSION,
        "dcos-image-commit": "",
        "bootstrap-id": "",
    });
    json_as(&value, "application/json")
}

/// The active pkgpanda packages: none. The DC/OS CLI sends HEAD here to learn whether it
/// must log in; 200 says no authentication is configured.
async fn buildinfo() -> Response {
    json_as(&json!({}), "application/json")
}

/// Cosmos' capabilities: Corral implements none of them (no package manager, no cluster
/// reports, no jobs service, no DC/OS log API), so the list is empty.
async fn capabilities() -> Response {
    json_as(&json!({ "capabilities": [] }), CAPABILITIES_MEDIA_TYPE)
}

/// No IAM runs while authentication is off: 404, as DC/OS' open edition answers.
async fn auth_providers() -> ApiError {
    ApiError::not_found("Authentication is not configured on this cluster")
}

/// No cluster linker: dcos-cli's `clusterlinker` takes a 404 as an endpoint the cluster does
/// not have, for listing, linking and unlinking alike.
async fn no_cluster_linker() -> ApiError {
    ApiError::not_found(
        "Cluster links are not supported: /cluster/v1/links is DC/OS Enterprise's cluster \
         linker, which Corral (as DC/OS' open edition) does not have",
    )
}
