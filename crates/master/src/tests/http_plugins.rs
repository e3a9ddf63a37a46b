//! The plugins API (`POST /api/corral/v1/plugins`) against a real master: install, list,
//! swap (good and misbehaving policies), remove, fetch by hash, and the active allocator
//! surviving a restart on the same store.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use super::harness::agent_subscribe;
use super::http_client::{TestMaster, start_master};
use corral_builtin_plugins::builtin;
use corral_plugin_host::store::sha256_hex;
use corral_state::memory::MemoryStore;
use corral_test_fixtures::fixture;

const PATH: &str = "/api/corral/v1/plugins";

fn manifest(name: &str) -> String {
    format!("name = \"{name}\"\nkind = \"allocator\"\nversion = \"2.0.0\"\nwit = \"0.1.0\"\n")
}

async fn install(m: &TestMaster, wasm: &[u8], name: &str) -> (u16, Value) {
    let body = json!({"type": "INSTALL", "install": {
        "wasm": base64::engine::general_purpose::STANDARD.encode(wasm),
        "manifest": manifest(name),
    }});
    let (status, text) = m.post(PATH, None, &body).await;
    (status, serde_json::from_str(&text).expect("JSON answer"))
}

async fn call(m: &TestMaster, body: Value) -> (u16, Value) {
    let (status, text) = m.post(PATH, None, &body).await;
    (status, serde_json::from_str(&text).expect("JSON answer"))
}

async fn list(m: &TestMaster) -> Value {
    let (status, body) = call(m, json!({"type": "LIST"})).await;
    assert_eq!(status, 200, "{body}");
    body["list"].clone()
}

fn swap(plugin: &str) -> Value {
    json!({"type": "SWAP_ALLOCATOR", "swap_allocator": {"plugin": plugin}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_swap_and_a_restart_keeps_the_swapped_allocator() {
    let store = Arc::new(MemoryStore::new());
    let m = start_master(store.clone()).await;
    let mut fw = m.subscribe(json!({"user": "u", "name": "swapper"})).await;
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:2;mem:256"))
        .await;
    agent.next_command().await.expect("Registered");
    fw.events.next_event().await.expect("OFFERS");

    let drf = builtin("drf").expect("drf");
    let (status, body) = install(&m, drf, "team-drf").await;
    assert_eq!(status, 200, "{body}");
    let sha = body["install"]["plugin"]["sha256"].as_str().expect("sha");
    assert_eq!(sha, sha256_hex(drf));

    let (status, body) = call(&m, swap("team-drf")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["swap_allocator"]["outcome"], "active");
    assert_eq!(body["swap_allocator"]["active"]["plugin"], sha);

    let listed = list(&m).await;
    assert_eq!(listed["allocator"]["active"]["plugin"], sha);
    let plugins = listed["plugins"].as_array().expect("plugins");
    let ours = plugins
        .iter()
        .find(|p| p["sha256"] == sha && p["builtin"] == false)
        .expect("the installed plugin is listed");
    assert_eq!(ours["active"], json!(["allocator"]));
    assert!(ours["stats"]["calls"].as_u64().unwrap_or(0) > 0, "{ours}");
    assert!(plugins.iter().any(|p| p["name"] == "command"));

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
        metrics.contains("\ncorral_master_allocation_last_cycle_seconds "),
        "{metrics}"
    );
    assert!(
        metrics.contains("corral_master_allocation_cycle_seconds_bucket{le=\"+Inf\"}"),
        "{metrics}"
    );

    // Removing the active allocator is refused; its bytes are served by hash.
    let (status, body) = call(&m, json!({"type": "REMOVE", "remove": {"plugin": sha}})).await;
    assert_eq!(status, 409, "{body}");
    let fetched = m
        .client
        .get(format!("{}{PATH}/{sha}", m.base))
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(sha256_hex(&fetched), sha);

    m.handle.shutdown();
    let restarted = start_master(store).await;
    let listed = list(&restarted).await;
    assert_eq!(
        listed["allocator"]["active"]["plugin"], sha,
        "a restarted master comes back with the swapped-in allocator"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_and_wrong_plugins_leave_the_old_allocator() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let mut agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:2;mem:256"))
        .await;
    agent.next_command().await.expect("Registered");

    let trap = fixture("trap-allocator").expect("fixture");
    let (status, body) = install(&m, trap, "trap").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&m, swap("trap")).await;
    assert_eq!(status, 409, "{body}");
    let message = body["message"].as_str().unwrap_or("");
    assert!(message.contains("trapped"), "{message}");
    let listed = list(&m).await;
    assert_eq!(listed["allocator"]["active"]["plugin"], "test");
    assert_eq!(listed["allocator"]["last_swap"]["outcome"], "rolled_back");

    // The command executor is not an allocator: refused at install, nothing stored.
    let command = builtin("command").expect("command");
    let (status, body) = install(&m, command, "not-an-allocator").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap_or("").contains("executor"),
        "{body}"
    );
    let (status, body) = call(&m, swap("no-such-plugin")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("no-such-plugin"),
        "{body}"
    );
    let (status, _) = call(&m, json!({"type": "BOGUS"})).await;
    assert_eq!(status, 400);
    let listed = list(&m).await;
    assert_eq!(listed["allocator"]["active"]["plugin"], "test");
    assert_eq!(
        listed["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .filter(|p| p["builtin"] == false)
            .count(),
        1,
        "only the trap fixture is stored"
    );
    // Not active, so it can go.
    let (status, body) = call(&m, json!({"type": "REMOVE", "remove": {"plugin": "trap"}})).await;
    assert_eq!(status, 200, "{body}");
}

/// INSTALL's body padded past 2 MiB with JSON whitespace: a large call, which takes turns.
async fn large_install(m: &TestMaster, wasm: &[u8], name: &str) -> (u16, Value) {
    let body = json!({"type": "INSTALL", "install": {
        "wasm": base64::engine::general_purpose::STANDARD.encode(wasm),
        "manifest": manifest(name),
    }});
    let padded = format!("{body}{}", " ".repeat(3 << 20));
    let response = m
        .client
        .post(format!("{}{PATH}", m.base))
        .header("Content-Type", "application/json")
        .body(padded)
        .send()
        .await
        .expect("request reaches the master");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).expect("JSON answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_large_installs_take_turns_and_each_is_answered() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let drf = builtin("drf").expect("drf");
    // Three times the turns at once: those past the bound wait (well within their wait).
    let installs =
        (0..3 * crate::plugin_uploads::AT_ONCE).map(|_| large_install(&m, drf, "team-drf"));
    let answers = futures::future::join_all(installs).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            body["install"]["plugin"]["sha256"],
            sha256_hex(drf),
            "{body}"
        );
    }
    let listed = list(&m).await;
    let stored = listed["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter(|p| p["sha256"] == sha256_hex(drf) && p["builtin"] == false)
        .count();
    assert_eq!(stored, 1, "{listed}");
    // The wasm is decoded as the body is read; bad base64 is still refused by name.
    let (status, body) = call(
        &m,
        json!({"type": "INSTALL", "install": {"wasm": "not base64!", "manifest": manifest("x")}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("'install.wasm' is not base64"),
        "{body}"
    );
}
