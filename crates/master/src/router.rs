//! The master's HTTP routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use corral_api::agent_protocol::{MESSAGE_PATH, PLUGINS_PATH, SUBSCRIBE_PATH, UPDATE_PATH};

use super::redirect::temporary_redirect;
use super::shell::Shared;
use super::upstreams::Upstreams;
use super::v0_api::{self, V0};
use super::v0_state::MasterFacts;
use super::{
    agent_api, dcos_api, gateway, operator_api, plugin_fanout, plugin_uploads, plugins_api,
    prometheus_metrics, scheduler_api,
};

/// Every route of a leading master, also under `/mesos` (DC/OS' prefix for the leading
/// master, as Admin Router serves it).
/// `scheme`: "https" when the master serves TLS (for its redirects); `agent_tls`: what the
/// gateway trusts and presents to agents serving https.
pub fn router(
    shared: Arc<Shared>,
    facts: Arc<MasterFacts>,
    upstreams: Upstreams,
    agent_tls: Option<&corral_client::ClientTls>,
    scheme: &'static str,
) -> Router {
    let cluster = dcos_api::routes(facts.clone());
    let proxies = shared.clone();
    let own = master_routes(shared.clone(), scheme).merge(v0_api::routes(V0 {
        shared,
        facts,
        agent_ips: Default::default(),
    }));
    own.clone()
        .nest("/mesos", own)
        .merge(cluster)
        .merge(gateway::routes(proxies, upstreams, agent_tls))
}

fn master_routes(shared: Arc<Shared>, scheme: &'static str) -> Router {
    Router::new()
        .route("/api/v1/scheduler", post(scheduler_api::scheduler))
        .route("/api/v1", post(operator_api::operator))
        .route("/api/v1/operator", post(operator_api::operator))
        .route(SUBSCRIBE_PATH, post(agent_api::subscribe))
        .route(UPDATE_PATH, post(agent_api::update))
        .route(MESSAGE_PATH, post(agent_api::executor_message))
        .route(PLUGINS_PATH, post(plugin_fanout::report))
        .route("/version", get(operator_api::get_version))
        .route("/health", get(operator_api::get_health))
        .route("/metrics", get(prometheus_metrics::get_metrics))
        .route("/allocator", get(operator_api::get_allocator))
        // A single master leads itself (an elected one answers from `leader.rs` first).
        .route(
            "/master/redirect",
            get(move |state: State<Arc<Shared>>| redirect_to_self(state, scheme)),
        )
        .route(
            "/api/corral/v1/plugins",
            post(plugins_api::plugins)
                .layer(axum::extract::DefaultBodyLimit::max(
                    plugins_api::BODY_LIMIT,
                ))
                // Outside the limit: a large call takes its turn before its body is read.
                .layer(axum::middleware::from_fn_with_state(
                    plugin_uploads::PluginUploads::new(
                        plugin_uploads::AT_ONCE,
                        plugin_uploads::WAIT,
                        plugins_api::BODY_LIMIT,
                    ),
                    plugin_uploads::gate,
                )),
        )
        .route("/api/corral/v1/plugins/{sha256}", get(plugins_api::fetch))
        .with_state(shared)
}

async fn redirect_to_self(State(shared): State<Arc<Shared>>, scheme: &'static str) -> Response {
    let advertised = shared.with_core(|core, _| {
        let info = &core.master_info;
        format!(
            "{}:{}",
            info.hostname.clone().unwrap_or_else(|| "127.0.0.1".into()),
            info.port
        )
    });
    temporary_redirect(scheme, &advertised, "")
}
