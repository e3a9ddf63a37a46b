//! The operator calls that act or report beyond the basics: GET_EXECUTORS with real
//! executors, GET_METRICS under Mesos' names, GET_FLAGS, Corral's KILL_TASK, TEARDOWN
//! (answers as apache/mesos `src/master/http.cpp` gives them).

use std::sync::Arc;

use serde_json::{Value, json};

use corral_api::agent_protocol::AgentCommand;

use super::harness::agent_subscribe;
use super::http_client::start_master;
use corral_state::memory::MemoryStore;

fn metric(metrics: &Value, name: &str) -> Option<f64> {
    metrics["get_metrics"]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)?["value"]
        .as_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_metrics_kill_and_teardown() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:2;mem:1024"))
        .await;
    let Some(AgentCommand::Registered { agent_id }) = agent.next_command().await else {
        panic!("the agent stream starts with Registered");
    };
    let mut fw = m.subscribe(json!({"user": "u", "name": "ops"})).await;
    let offers = fw.events.next_event().await.expect("an OFFERS event");
    let offer = offers.offers.expect("offers").offers.remove(0);
    let resources = json!([
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}
    ]);
    let (status, body) = m
        .call(&fw, json!({
            "type": "ACCEPT",
            "accept": {
                "offer_ids": [{"value": offer.id.value}],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [
                    {"name": "cmd", "task_id": {"value": "cmd-1"}, "agent_id": {"value": agent_id.value},
                     "resources": resources, "command": {"value": "sleep 100"}},
                    {"name": "ex", "task_id": {"value": "ex-1"}, "agent_id": {"value": agent_id.value},
                     "resources": resources,
                     "executor": {"executor_id": {"value": "my-executor"}, "command": {"value": "./exec"}}}
                ]}}]
            }
        }))
        .await;
    assert_eq!((status, body.as_str()), (202, ""));
    for _ in 0..2 {
        assert!(matches!(
            agent.next_command().await,
            Some(AgentCommand::RunTask { .. })
        ));
    }

    let executors = m.operator("GET_EXECUTORS").await;
    let list = &executors["get_executors"]["executors"];
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{executors}");
    assert_eq!(
        list[0]["executor_info"]["executor_id"]["value"],
        "my-executor"
    );
    assert_eq!(list[0]["executor_info"]["framework_id"]["value"], fw.id);
    assert_eq!(list[0]["agent_id"]["value"], agent_id.value);
    let tasks = m.operator("GET_TASKS").await.to_string();
    assert!(
        tasks.contains("\"executor_id\":{\"value\":\"my-executor\"}"),
        "{tasks}"
    );

    let metrics = m.operator("GET_METRICS").await;
    assert_eq!(
        metric(&metrics, "master/tasks_staging"),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "master/tasks_running"), Some(0.0));
    assert_eq!(metric(&metrics, "master/frameworks_connected"), Some(1.0));
    assert_eq!(metric(&metrics, "master/slaves_active"), Some(1.0));
    assert_eq!(metric(&metrics, "master/cpus_total"), Some(2.0));
    assert_eq!(metric(&metrics, "master/cpus_used"), Some(1.0));
    assert_eq!(metric(&metrics, "master/elected"), Some(1.0));

    // In-process there is no command line: GET_FLAGS answers an empty list.
    let flags = m.operator("GET_FLAGS").await;
    assert_eq!(flags["get_flags"]["flags"], json!([]), "{flags}");

    // KILL_TASK (Corral's): the agent is told, with the task's framework found by the master.
    let (status, body) = m
        .post(
            "/api/v1",
            None,
            &json!({"type": "KILL_TASK", "kill_task": {"task_id": {"value": "cmd-1"}}}),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, ""));
    let Some(AgentCommand::KillTask {
        task_id,
        framework_id,
        ..
    }) = agent.next_command().await
    else {
        panic!("KillTask reaches the agent");
    };
    assert_eq!(
        (task_id.value.as_str(), framework_id.value.as_str()),
        ("cmd-1", fw.id.as_str())
    );
    let (status, body) = m
        .post(
            "/api/v1",
            None,
            &json!({"type": "KILL_TASK", "kill_task": {"task_id": {"value": "nope"}}}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = m.post("/api/v1", None, &json!({"type": "KILL_TASK"})).await;
    assert_eq!(status, 400, "{body}");

    // TEARDOWN: Mesos' 400 for an unknown id, 200 with no body for a known one.
    let (status, body) = m
        .post(
            "/api/v1",
            None,
            &json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": "nope"}}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("No framework found with specified ID"),
        "{body}"
    );
    let (status, body) = m
        .post(
            "/api/v1",
            None,
            &json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": fw.id}}}),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, ""));
    let Some(AgentCommand::ShutdownFramework { framework_id }) = agent.next_command().await else {
        panic!("the agent is told to shut the framework down");
    };
    assert_eq!(framework_id.value, fw.id);
    // The framework's stream ends.
    while fw.events.next_event().await.is_some() {}
    let frameworks = m.operator("GET_FRAMEWORKS").await;
    assert_eq!(
        frameworks["get_frameworks"]["frameworks"],
        json!([]),
        "{frameworks}"
    );
    assert_eq!(
        frameworks["get_frameworks"]["completed_frameworks"][0]["framework_info"]["id"]["value"],
        fw.id
    );
    assert_eq!(
        m.operator("GET_EXECUTORS").await["get_executors"]["executors"],
        json!([])
    );
}
