use std::sync::Arc;

use serde_json::{Value, json};

use super::harness::agent_subscribe;
use super::http_client::start_master;
use corral_state::memory::MemoryStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_api_version_health_and_metrics() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let mut fw = m.subscribe(json!({"user": "u", "name": "ops"})).await;
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:2;mem:256"))
        .await;
    agent.next_command().await.expect("Registered");
    fw.events.next_event().await.expect("OFFERS");

    let version: Value = m
        .client
        .get(format!("{}/version", m.base))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(version["version"], corral_api::VERSION);
    let health = m
        .client
        .get(format!("{}/health", m.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(health.status().as_u16(), 200);

    let state = m.operator("GET_STATE").await;
    assert_eq!(state["type"], "GET_STATE");
    let s = &state["get_state"];
    assert_eq!(
        s["get_frameworks"]["frameworks"][0]["framework_info"]["name"],
        "ops"
    );
    assert_eq!(s["get_frameworks"]["frameworks"][0]["connected"], true);
    assert_eq!(s["get_agents"]["agents"][0]["active"], true);
    assert_eq!(
        s["get_agents"]["agents"][0]["agent_info"]["hostname"],
        "host1"
    );
    let offered = &s["get_agents"]["agents"][0]["offered_resources"];
    assert!(
        offered.as_array().is_some_and(|a| !a.is_empty()),
        "{offered}"
    );
    let (status, body) = m
        .post("/api/v1/operator", None, &json!({"type": "GET_VERSION"}))
        .await;
    assert_eq!(status, 200);
    let parsed: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        parsed["get_version"]["version_info"]["version"],
        corral_api::VERSION
    );
    assert_eq!(
        m.operator("GET_EXECUTORS").await["get_executors"]["executors"],
        json!([])
    );
    let (status, body) = m
        .post("/api/v1", None, &json!({"type": "GET_MAINTENANCE_STATUS"}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = m
        .post("/api/v1", None, &json!({"type": "MAKE_COFFEE"}))
        .await;
    assert_eq!(status, 400);

    let metrics = m
        .client
        .get(format!("{}/metrics", m.base))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("corral_master_frameworks{state=\"connected\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("corral_master_agents{state=\"connected\"} 1"));
    assert!(metrics.contains("corral_master_offers_sent_total 1"));
    assert!(metrics.contains("corral_master_allocation_cycles_total"));
    // Every task state is there, at zero too; and the build.
    assert!(
        metrics.contains("corral_master_tasks{state=\"TASK_GONE_BY_OPERATOR\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "corral_build_info{{component=\"master\",version=\"{}\"}} 1",
            corral_api::VERSION
        )),
        "{metrics}"
    );
    let allocator = m
        .client
        .get(format!("{}/allocator", m.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(allocator.status().as_u16(), 200);
    assert_eq!(
        allocator.text().await.expect("text"),
        "{}",
        "the test policy's inspect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_master_names_the_answering_master() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let answer = m.operator("GET_MASTER").await;
    assert_eq!(answer["type"], "GET_MASTER");
    let info = &answer["get_master"]["master_info"];
    assert!(
        info["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{answer}"
    );
    let port = m
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u64>().ok());
    assert_eq!(info["port"].as_u64(), port, "{answer}");

    // A single master names itself as the leader.
    let no_follow = corral_client::client_tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = no_follow
        .get(format!("{}/master/redirect", m.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(redirect.status().as_u16(), 307);
    let location = redirect.headers()["location"].to_str().expect("ascii");
    assert!(
        port.is_some_and(|p| location.ends_with(&format!(":{p}"))),
        "{location}"
    );
}
