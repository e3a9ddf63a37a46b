//! The master's metrics under Mesos' names (apache/mesos `docs/monitoring.md`, gathered in
//! `src/master/metrics.cpp`): what GET_METRICS answers, and what a `/metrics/snapshot`
//! in Mesos' shape can serve. Only the names Corral can fill truthfully are present.

use std::collections::BTreeMap;

use corral_api::resources::Resources;
use corral_api::v1::TaskState;

use super::core::MasterCore;

/// The task states Mesos keeps as gauges (how many tasks are in them now), present at zero.
/// The terminal states are counters since the master started in Mesos; Corral does not keep
/// them across restarts, so they are left out rather than reported wrong.
const TASK_STATES: [(TaskState, &str); 5] = [
    (TaskState::TaskStaging, "staging"),
    (TaskState::TaskStarting, "starting"),
    (TaskState::TaskRunning, "running"),
    (TaskState::TaskKilling, "killing"),
    (TaskState::TaskUnreachable, "unreachable"),
];

/// `name -> value`, sorted by name. `elected` is 1: only the leader answers calls.
pub fn snapshot(core: &MasterCore, uptime_secs: f64) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut put = |name: &str, value: f64| {
        out.insert(format!("master/{name}"), value);
    };
    put("elected", 1.0);
    put("uptime_secs", uptime_secs);

    let connected = core.frameworks.values().filter(|f| f.connected()).count() as f64;
    let frameworks = core.frameworks.len() as f64;
    put("frameworks_connected", connected);
    put("frameworks_disconnected", frameworks - connected);
    put("frameworks_active", connected);
    put("frameworks_inactive", frameworks - connected);

    let agents = core.agents.len() as f64;
    let agents_connected = core.agents.values().filter(|a| a.connected()).count() as f64;
    put("slaves_connected", agents_connected);
    put("slaves_disconnected", agents - agents_connected);
    put("slaves_active", agents_connected);
    put("slaves_inactive", agents - agents_connected);
    put(
        "slaves_unreachable",
        core.partitions.unreachable.len() as f64,
    );

    let live = core.frameworks.values().flat_map(|f| f.tasks.values());
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    for record in live {
        *counts.entry(record.task.state.as_str()).or_default() += 1.0;
    }
    for (state, name) in TASK_STATES {
        let count = counts.get(state.as_str()).copied().unwrap_or(0.0);
        put(&format!("tasks_{name}"), count);
    }
    put("outstanding_offers", core.offers().count() as f64);

    let mut total = Resources::new();
    for agent in core.agents.values().filter(|a| a.connected()) {
        total.add_all(&agent.total);
    }
    let mut used = Resources::new();
    let live = core.frameworks.values().flat_map(|f| f.tasks.values());
    for record in live.filter(|r| !r.released) {
        used.add_all(&record.resources);
    }
    for resource in ["cpus", "mem", "disk", "gpus"] {
        let total = total.scalar(resource);
        let used = used.scalar(resource);
        put(&format!("{resource}_total"), total);
        put(&format!("{resource}_used"), used);
        let percent = if total > 0.0 { used / total } else { 0.0 };
        put(&format!("{resource}_percent"), percent);
    }
    out
}
