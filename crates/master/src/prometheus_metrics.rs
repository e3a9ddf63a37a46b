//! `GET /metrics`: the master in the Prometheus text format (`corral_http::prometheus`):
//! frameworks, agents and tasks by state (every state present, at zero too), outstanding
//! offers, the core's counters, the allocation cycle's duration, the calls into plugins in
//! this process, the hooks' own series, and `corral_build_info`. docs/metrics.md has the
//! table of every series.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use corral_api::v1::TaskState;
use corral_authz::Action;
use corral_http::auth::Caller;
use corral_http::prometheus::{CONTENT_TYPE, Kind, MetricsText};

use super::core::MasterCore;
use super::shell::Shared;

pub async fn get_metrics(State(shared): State<Arc<Shared>>, caller: Caller) -> Response {
    // As Mesos' `/metrics/snapshot`: an endpoint `get_endpoints` may refuse.
    if let Err(refused) = shared.authorize(caller.name(), Action::GetEndpoints, Some("/metrics")) {
        return refused.into_response();
    }
    let mut text = MetricsText::new();
    text.build_info("master", corral_api::VERSION);
    shared.with_core(|core, _| write_core(core, &mut text));
    if let Some(plugins) = shared.plugins.get() {
        plugins.status.write_metrics(&mut text);
    }
    corral_plugin_host::stats::write_metrics(&mut text);
    shared.hooks.write_metrics(&mut text);
    let mut response = text.finish().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The core's gauges and counters.
pub fn write_core(core: &MasterCore, text: &mut MetricsText) {
    let connected = core.frameworks.values().filter(|f| f.connected()).count();
    let name = "corral_master_frameworks";
    text.family(name, Kind::Gauge, "Frameworks the master knows, by state.")
        .sample(name, &[("state", "connected")], connected as f64)
        .sample(
            name,
            &[("state", "disconnected")],
            (core.frameworks.len() - connected) as f64,
        );
    let active = core.agents.values().filter(|a| a.connected()).count();
    let name = "corral_master_agents";
    text.family(name, Kind::Gauge, "Agents the master knows, by state.")
        .sample(name, &[("state", "connected")], active as f64)
        .sample(
            name,
            &[("state", "disconnected")],
            (core.agents.len() - active) as f64,
        );
    let counts = core.task_counts();
    let name = "corral_master_tasks";
    text.family(
        name,
        Kind::Gauge,
        "Tasks by state (active, and the completed ones remembered).",
    );
    // Every state, so one no task is in shows as 0 rather than missing.
    for state in TaskState::ALL {
        let count = counts.get(state.as_str()).copied().unwrap_or(0);
        text.sample(name, &[("state", state.as_str())], count as f64);
    }
    text.single(
        "corral_master_outstanding_offers",
        Kind::Gauge,
        "Offers not yet answered.",
        core.offers().count() as f64,
    );
    let c = core.counters();
    for (name, help, value) in [
        ("offers_sent", "Offers sent to frameworks.", c.offers_sent),
        ("offers_rescinded", "Offers rescinded.", c.offers_rescinded),
        (
            "allocation_cycles",
            "Allocation cycles run.",
            c.allocation_cycles,
        ),
        (
            "allocator_errors",
            "Allocator calls that failed.",
            c.allocator_errors,
        ),
        (
            "allocator_replays",
            "Fresh allocator instances replayed.",
            c.allocator_replays,
        ),
        (
            "invalid_grants",
            "Allocator grants dropped as invalid.",
            c.invalid_grants,
        ),
        ("tasks_launched", "Tasks sent to agents.", c.tasks_launched),
        (
            "tasks_invalid",
            "Tasks refused with TASK_ERROR.",
            c.tasks_invalid,
        ),
        (
            "frameworks_removed",
            "Frameworks removed.",
            c.frameworks_removed,
        ),
    ] {
        text.single(
            &format!("corral_master_{name}_total"),
            Kind::Counter,
            help,
            value as f64,
        );
    }
}
