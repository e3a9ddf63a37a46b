//! The agent's `GET /metrics` in the Prometheus text format (`corral_http::prometheus`):
//! whether it is registered, its tasks by state (every state, at zero too), running
//! containers and each one's usage (`container_metrics.rs`), status updates its frameworks
//! have not acknowledged yet and how long acknowledged ones took, and the calls into its
//! plugins (executor, isolators, hooks). docs/metrics.md lists every series.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use corral_api::v1::TaskState;
use corral_http::prometheus::{CONTENT_TYPE, Kind, MetricsText};

use super::containers_api::ContainersState;
use super::http::AgentView;

pub async fn get_metrics(
    State(view): State<AgentView>,
    State(containers): State<ContainersState>,
) -> Response {
    // Sampled first (cgroups, on the blocking pool): the text is built in one go.
    let sampled = super::containers_api::containers(&containers).await;
    let mut text = MetricsText::new();
    text.build_info("agent", corral_api::VERSION);
    text.single(
        "corral_agent_registered",
        Kind::Gauge,
        "1 while the agent is registered with a master.",
        f64::from(u8::from(view.link.is_registered())),
    );
    let tasks = view.tasks.tasks(&view.identity.id().unwrap_or_default());
    let name = "corral_agent_tasks";
    text.family(name, Kind::Gauge, "Tasks on this agent, by state.");
    for state in TaskState::ALL {
        let count = tasks.iter().filter(|t| t.state == state).count();
        text.sample(name, &[("state", state.as_str())], count as f64);
    }
    text.single(
        "corral_agent_containers",
        Kind::Gauge,
        "Containers running (one per task or HTTP executor).",
        view.tasks.running_containers().len() as f64,
    );
    text.single(
        "corral_agent_pending_status_updates",
        Kind::Gauge,
        "Status updates their frameworks have not acknowledged yet.",
        view.updates.pending_count() as f64,
    );
    let latency = view.updates.acknowledgement_latency();
    let buckets: Vec<(Option<f64>, u64)> = latency
        .cumulative()
        .into_iter()
        .map(|(bound, count)| (bound.map(|ms| ms as f64 / 1000.0), count))
        .collect();
    text.histogram(
        "corral_agent_status_update_acknowledgement_seconds",
        "From a status update's creation on this agent to its framework's acknowledgement.",
        &buckets,
        latency.sum() as f64 / 1000.0,
        latency.count(),
    );
    super::container_metrics::write(&mut text, &sampled.containers);
    corral_plugin_host::stats::write_metrics(&mut text);
    let mut response = text.finish().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
