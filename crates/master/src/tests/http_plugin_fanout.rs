//! Plugins activated for agents reach agents over their command streams: the set follows
//! `Registered` (so an agent that was away catches up) and every ACTIVATE/DEACTIVATE; agents'
//! reports show in LIST.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use super::harness::agent_subscribe;
use super::http_client::{TestMaster, start_master};
use corral_api::agent_protocol::{AgentCommand, PLUGINS_PATH};
use corral_builtin_plugins::builtin;
use corral_state::memory::MemoryStore;

const PATH: &str = "/api/corral/v1/plugins";

async fn call(m: &TestMaster, body: Value) -> (u16, Value) {
    let (status, text) = m.post(PATH, None, &body).await;
    (status, serde_json::from_str(&text).expect("JSON answer"))
}

fn active_names(command: Option<AgentCommand>) -> Vec<(String, String)> {
    match command {
        Some(AgentCommand::Plugins { active }) => {
            active.into_iter().map(|p| (p.name, p.config)).collect()
        }
        other => panic!("expected the active plugins, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_get_the_active_set_at_registration_and_on_every_change() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let mut first = m
        .agent_subscribe(&agent_subscribe(None, "cpus:1;mem:128"))
        .await;
    let Some(AgentCommand::Registered { agent_id }) = first.next_unpinged().await else {
        panic!("Registered first");
    };
    assert_eq!(active_names(first.next_unpinged().await), vec![]);

    let labels = builtin("labels").expect("labels");
    let (status, body) = call(
        &m,
        json!({"type": "INSTALL", "install": {
            "wasm": base64::engine::general_purpose::STANDARD.encode(labels),
            "manifest": "name = \"tags\"\nkind = \"hook\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n",
        }}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sha = body["install"]["plugin"]["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    let config = r#"{"status_labels": {"a": "b"}}"#;
    let (status, body) = call(
        &m,
        json!({"type": "ACTIVATE", "activate": {"plugin": "tags", "config": config}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        active_names(first.next_unpinged().await),
        vec![("tags".to_string(), config.to_string())]
    );

    // An agent registering now (or coming back) gets the set right after Registered.
    let mut second = m
        .agent_subscribe(&agent_subscribe(None, "cpus:1;mem:128"))
        .await;
    assert!(matches!(
        second.next_unpinged().await,
        Some(AgentCommand::Registered { .. })
    ));
    assert_eq!(active_names(second.next_unpinged().await).len(), 1);

    // Reports: LIST shows where it runs; an unknown agent's report is refused.
    let report = json!({"agent_id": {"value": agent_id.value}, "plugins": [
        {"sha256": sha, "name": "tags", "loaded": true}],
        "stats": {"tags": {"calls": 7, "errors": 2, "p99_us": 100}}});
    let (status, text) = m.post(PLUGINS_PATH, None, &report).await;
    assert_eq!(status, 202, "{text}");
    let (status, _) = m
        .post(
            PLUGINS_PATH,
            None,
            &json!({"agent_id": {"value": "nobody"}, "plugins": []}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, text) = m
        .post(PLUGINS_PATH, None, &json!({"not": "a report"}))
        .await;
    assert_eq!(status, 400, "{text}");
    let (_, list) = call(&m, json!({"type": "LIST"})).await;
    let tags = list["list"]["plugins"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "tags"))
        .cloned()
        .expect("listed");
    assert_eq!(tags["agents"]["loaded"], 1, "{tags}");
    assert_eq!(tags["agents"]["of"], 2, "{tags}");
    assert!(tags["stats"]["calls"].as_u64() >= Some(7), "{tags}");

    let (status, _) = call(
        &m,
        json!({"type": "DEACTIVATE", "deactivate": {"plugin": "tags"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(active_names(first.next_unpinged().await), vec![]);
    assert_eq!(active_names(second.next_unpinged().await), vec![]);
}
