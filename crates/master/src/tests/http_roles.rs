//! The roles operator calls over HTTP against a real master, and their survival across a
//! master restart on the same registry.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::harness::agent_subscribe;
use super::http_client::{Records, TestMaster, start_master};
use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::AgentId;
use corral_state::StateStore;
use corral_state::memory::MemoryStore;

async fn call(m: &TestMaster, body: Value) -> (u16, Value) {
    let (status, text) = m.post("/api/v1", None, &body).await;
    let parsed = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, parsed)
}

fn reserve_body(kind: &str, agent: &AgentId, resources: Value) -> Value {
    let field = kind.to_ascii_lowercase();
    json!({"type": kind, field: {"agent_id": {"value": agent.value}, "resources": resources}})
}

fn eng_cpu(amount: f64, principal: &str) -> Value {
    json!([{"name": "cpus", "type": "SCALAR", "scalar": {"value": amount},
            "reservations": [{"type": "DYNAMIC", "role": "eng", "principal": principal}]}])
}

/// Waits until the registry holds `key` (writes are applied in the background).
async fn persisted(store: &MemoryStore, prefix: &str) {
    for _ in 0..100 {
        if !store.list(prefix).await.expect("list").is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing under {prefix} in the registry");
}

/// Registers a fake agent; keep the stream, or the agent disconnects.
async fn register(m: &TestMaster, id: Option<AgentId>) -> (AgentId, Records<AgentCommand>) {
    let mut agent = m
        .agent_subscribe(&agent_subscribe(id, "cpus:4;mem:1024"))
        .await;
    match agent.next_command().await {
        Some(AgentCommand::Registered { agent_id }) => (agent_id, agent),
        other => panic!("expected Registered, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_quota_and_reservations_over_http_survive_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let m = start_master(store.clone()).await;
    let (agent, _stream) = register(&m, None).await;

    let (status, body) = call(
        &m,
        json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": "eng", "weight": 3.0}]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &m,
        json!({"type": "UPDATE_QUOTA", "update_quota": {"force": false, "quota_configs": [
            {"role": "eng", "guarantees": {"cpus": {"value": 1}}, "limits": {"cpus": {"value": 2}}}]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &m,
        reserve_body("RESERVE_RESOURCES", &agent, eng_cpu(1.0, "ops")),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Bad input: the role and the value in a 400, nothing changed.
    let (status, body) = call(
        &m,
        json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": "eng", "weight": "heavy"}]}}),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'eng'") && message.contains("heavy"),
        "{message}"
    );
    let (status, _) = call(&m, json!({"type": "UPDATE_WEIGHTS"})).await;
    assert_eq!(status, 400, "a call without its payload is refused");
    let (status, body) = call(
        &m,
        reserve_body("UNRESERVE_RESOURCES", &agent, eng_cpu(1.0, "mallory")),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    let weights = m.operator("GET_WEIGHTS").await;
    assert_eq!(
        weights["get_weights"]["weight_infos"],
        json!([{"weight": 3.0, "role": "eng"}])
    );
    let quota = m.operator("GET_QUOTA").await;
    assert_eq!(
        quota["get_quota"]["status"]["configs"][0]["limits"]["cpus"]["value"],
        2.0
    );
    assert_eq!(quota["get_quota"]["status"]["infos"][0]["role"], "eng");
    let roles = m.operator("GET_ROLES").await;
    let eng = &roles["get_roles"]["roles"][0];
    assert_eq!(eng["name"], "eng");
    assert_eq!(eng["weight"], 3.0);
    assert_eq!(eng["reserved"][0]["reservations"][0]["principal"], "ops");
    assert_eq!(eng["quota"]["guarantees"]["cpus"]["value"], 1.0);

    persisted(&store, "weights/").await;
    persisted(&store, "quota/").await;
    persisted(&store, "reservations/").await;
    m.handle.shutdown();

    let m = start_master(store.clone()).await;
    let weights = m.operator("GET_WEIGHTS").await;
    assert_eq!(weights["get_weights"]["weight_infos"][0]["weight"], 3.0);
    let quota = m.operator("GET_QUOTA").await;
    assert_eq!(quota["get_quota"]["status"]["configs"][0]["role"], "eng");
    let (_, _stream) = register(&m, Some(agent.clone())).await;
    let agents = m.operator("GET_AGENTS").await;
    let total = &agents["get_agents"]["agents"][0]["total_resources"];
    let reserved: Vec<&Value> = total
        .as_array()
        .map(|a| a.iter().filter(|r| r["role"] == "eng").collect())
        .unwrap_or_default();
    assert_eq!(reserved.len(), 1, "{total}");
    assert_eq!(reserved[0]["scalar"]["value"], 1.0);

    let (status, body) = call(
        &m,
        reserve_body("UNRESERVE_RESOURCES", &agent, eng_cpu(1.0, "ops")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &m,
        reserve_body("UNRESERVE_RESOURCES", &agent, eng_cpu(1.0, "ops")),
    )
    .await;
    assert_eq!(status, 409, "nothing left to unreserve: {body}");
}
