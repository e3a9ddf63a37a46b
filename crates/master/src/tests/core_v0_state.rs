//! The core's state in Mesos' v0 shapes. The expected key sets are written from apache/mesos
//! `src/master/readonly_handler.cpp` (`FullFrameworkWriter`, `SlaveWriter`, the `state`,
//! `stateSummary` and `frameworks` handlers) and `src/common/http.cpp` (`json(Task)`,
//! `json(TaskStatus)`, `json(Resources)`, `json(SlaveInfo)`).

use std::collections::BTreeSet;

use serde_json::Value;

use corral_api::scheduler::{Acknowledge, Call, CallType};
use corral_api::v1::{Id, TaskState};

use super::harness::{Harness, task};
use crate::v0_state::{MasterFacts, TaskQuery};
use crate::view_filter::TaskVisibility;

/// The top-level keys Mesos 1.x's `/master/state` always writes (without `git_*`, `domain`,
/// `cluster`, `log_dir`, `external_log_file`, which it writes only when set).
const STATE_KEYS: &[&str] = &[
    "version",
    "build_date",
    "build_time",
    "build_user",
    "start_time",
    "elected_time",
    "id",
    "pid",
    "hostname",
    "capabilities",
    "activated_slaves",
    "deactivated_slaves",
    "unreachable_slaves",
    "leader",
    "leader_info",
    "flags",
    "slaves",
    "recovered_slaves",
    "frameworks",
    "completed_frameworks",
    "orphan_tasks",
    "unregistered_frameworks",
];

/// `FullFrameworkWriter` for an HTTP framework (no `pid`), not MULTI_ROLE, no principal,
/// never re-registered, no labels.
const FRAMEWORK_KEYS: &[&str] = &[
    "id",
    "name",
    "used_resources",
    "offered_resources",
    "capabilities",
    "hostname",
    "webui_url",
    "active",
    "connected",
    "recovered",
    "user",
    "failover_timeout",
    "checkpoint",
    "registered_time",
    "unregistered_time",
    "resources",
    "role",
    "tasks",
    "unreachable_tasks",
    "completed_tasks",
    "offers",
    "executors",
    "offer_constraints",
];

/// `SlaveWriter` (no drain info).
const SLAVE_KEYS: &[&str] = &[
    "id",
    "hostname",
    "port",
    "attributes",
    "pid",
    "registered_time",
    "resources",
    "used_resources",
    "offered_resources",
    "reserved_resources",
    "unreserved_resources",
    "active",
    "deactivated",
    "version",
    "capabilities",
];

/// `json(Task)` for a command task without labels, discovery, container or health check.
const TASK_KEYS: &[&str] = &[
    "id",
    "name",
    "framework_id",
    "executor_id",
    "slave_id",
    "state",
    "resources",
    "role",
    "statuses",
];

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A framework "f1" with t1 running and t2 finished and acknowledged, on one agent.
fn cluster() -> (Harness, String, String) {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, _agent_stream) = h.add_agent("cpus:2;mem:1024;ports:[31000-31009]");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![
            task("t1", &agent, "cpus:1;mem:128"),
            task("t2", &agent, "cpus:0.5;mem:64;ports:[31000-31000]"),
        ],
        Some(0.0),
    );
    h.agent_update(&agent, &fw, "t1", TaskState::TaskRunning);
    let uuid = h.agent_update(&agent, &fw, "t2", TaskState::TaskFinished);
    let mut ack = Call::new(CallType::Acknowledge, Some(fw.clone()));
    ack.acknowledge = Some(Acknowledge {
        agent_id: agent.clone(),
        task_id: Id::new("t2"),
        uuid,
    });
    h.call(stream, ack).expect("ACKNOWLEDGE accepted");
    (h, fw.value, agent.value)
}

#[test]
fn state_has_mesos_keys_and_each_framework_agent_and_task_its_shape() {
    let (h, fw, agent) = cluster();
    let facts = MasterFacts {
        start_ms: 1_000_000,
        elected_ms: 1_000_500,
        ..Default::default()
    };
    let state = h.core.v0_state(&facts, &Default::default());
    assert_eq!(keys(&state), set(STATE_KEYS), "{state:#}");
    assert_eq!(state["pid"], "master@0.0.0.0:5050");
    assert_eq!(state["leader"], state["pid"]);
    assert_eq!(state["leader_info"]["id"], "m1");
    assert_eq!(state["start_time"], 1000.0);
    assert_eq!(state["elected_time"], 1000.5);
    assert_eq!(state["activated_slaves"], 1.0);

    let slave = &state["slaves"][0];
    assert_eq!(keys(slave), set(SLAVE_KEYS), "{slave:#}");
    assert_eq!(slave["id"], agent.as_str());
    assert_eq!(slave["pid"], "slave(1)@host1:5051");
    assert_eq!(slave["resources"]["cpus"], 2.0);
    assert_eq!(slave["resources"]["ports"], "[31000-31009]");
    assert_eq!(slave["resources"]["gpus"], 0.0);
    assert_eq!(slave["used_resources"]["cpus"], 1.0, "t1 only: t2 ended");

    let framework = &state["frameworks"][0];
    assert_eq!(keys(framework), set(FRAMEWORK_KEYS), "{framework:#}");
    assert_eq!(framework["id"], fw.as_str());
    assert_eq!(framework["role"], "*");
    let running = &framework["tasks"][0];
    assert_eq!(keys(running), set(TASK_KEYS), "{running:#}");
    assert_eq!(running["id"], "t1");
    assert_eq!(running["slave_id"], agent.as_str());
    assert_eq!(running["state"], "TASK_RUNNING");
    assert_eq!(running["executor_id"], "");
    assert_eq!(running["resources"]["mem"], 128.0);
    assert_eq!(
        keys(&running["statuses"][0]),
        set(&["state", "timestamp"]),
        "{running:#}"
    );
    let completed = &framework["completed_tasks"];
    assert_eq!(completed.as_array().map(Vec::len), Some(1), "{framework:#}");
    assert_eq!(completed[0]["id"], "t2");
    assert_eq!(completed[0]["state"], "TASK_FINISHED");
    assert_eq!(completed[0]["resources"]["ports"], "[31000-31000]");
    assert_eq!(framework["tasks"].as_array().map(Vec::len), Some(1));
}

#[test]
fn summary_counts_tasks_per_state_and_links_agents_and_frameworks() {
    let (h, fw, agent) = cluster();
    let summary = h.core.v0_state_summary(&Default::default());
    assert_eq!(keys(&summary), set(&["hostname", "slaves", "frameworks"]));
    let framework = &summary["frameworks"][0];
    assert_eq!(framework["TASK_RUNNING"], 1);
    assert_eq!(framework["TASK_FINISHED"], 1);
    assert_eq!(framework["TASK_UNREACHABLE"], 0);
    assert_eq!(framework["slave_ids"], serde_json::json!([agent]));
    assert!(
        framework.get("resources").is_none(),
        "Summary<Framework> has no resources"
    );
    assert!(framework.get("tasks").is_none());
    let slave = &summary["slaves"][0];
    assert_eq!(slave["framework_ids"], serde_json::json!([fw]));
    assert_eq!(slave["TASK_RUNNING"], 1);
}

#[test]
fn tasks_page_filters_and_orders_as_mesos() {
    let (h, fw, _) = cluster();
    let all = h
        .core
        .v0_tasks(&TaskQuery::default(), &TaskVisibility::all());
    let ids: Vec<&str> = all["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2, "{all}");
    let one = h.core.v0_tasks(
        &TaskQuery {
            task_id: Some("t2".into()),
            ..Default::default()
        },
        &TaskVisibility::all(),
    );
    assert_eq!(one["tasks"][0]["id"], "t2");
    assert_eq!(one["tasks"].as_array().map(Vec::len), Some(1));
    let paged = h.core.v0_tasks(
        &TaskQuery {
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        },
        &TaskVisibility::all(),
    );
    assert_eq!(paged["tasks"].as_array().map(Vec::len), Some(1));
    let other = h.core.v0_tasks(
        &TaskQuery {
            framework_id: Some(format!("{fw}-other")),
            ..Default::default()
        },
        &TaskVisibility::all(),
    );
    assert_eq!(other["tasks"], serde_json::json!([]));
}

#[test]
fn teardown_moves_the_framework_to_completed_with_its_tasks() {
    let (mut h, fw, _) = cluster();
    h.core
        .remove_framework(h.now + 5000, &Id::new(fw.clone()), "test");
    let frameworks = h.core.v0_frameworks(None);
    assert_eq!(frameworks["frameworks"], serde_json::json!([]));
    let completed = &frameworks["completed_frameworks"][0];
    assert_eq!(keys(completed), set(FRAMEWORK_KEYS), "{completed:#}");
    assert_eq!(completed["id"], fw.as_str());
    assert_eq!(completed["active"], false);
    assert_eq!(
        completed["unregistered_time"],
        (h.now + 5000) as f64 / 1000.0
    );
    assert_eq!(
        completed["completed_tasks"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(frameworks["unregistered_frameworks"], serde_json::json!([]));
}

#[test]
fn metrics_use_mesos_names_and_count_what_runs() {
    let (h, _, _) = cluster();
    let m = h.core.v0_metrics(&MasterFacts::default(), h.now);
    assert_eq!(m["master/elected"], 1.0);
    assert_eq!(m["master/slaves_active"], 1.0);
    assert_eq!(m["master/frameworks_active"], 1.0);
    assert_eq!(m["master/tasks_running"], 1.0);
    assert_eq!(m["master/cpus_total"], 2.0);
    assert_eq!(m["master/cpus_used"], 1.0);
    assert_eq!(m["master/cpus_percent"], 0.5);
    assert!(
        !m.contains_key("master/tasks_finished"),
        "not kept as Mesos' counter"
    );
}

#[test]
fn roles_list_each_role_with_its_quota_and_frameworks() {
    let (h, fw, _) = cluster();
    let roles = h.core.v0_roles();
    let star = &roles["roles"][0];
    assert_eq!(star["name"], "*");
    assert_eq!(star["frameworks"], serde_json::json!([fw]));
    assert_eq!(star["allocated"]["cpus"], 1.0);
    assert_eq!(
        keys(&star["quota"]),
        set(&["role", "guarantee", "limit", "consumed"])
    );
}
