//! Misbehaving plugins (plugins/fixtures) do not take the master or agent down: the call
//! fails with a clear error and the process keeps serving.

use corral_e2e::{Cluster, Framework, framework_info, plugin_wasm, task};
use serde_json::json;

async fn master_survives(fixture: &str, expect_in_log: &str) {
    let wasm = plugin_wasm(fixture);
    let mut cluster = Cluster::master(&["--allocator", &wasm.display().to_string()]).await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("victim", json!({}))).await;
    // The broken policy grants nothing, but every API keeps answering.
    assert!(fw.next_event(3).await.is_none_or(|e| e["type"] != "OFFERS"));
    for _ in 0..3 {
        corral_e2e::operator(&cluster.master_addr, "GET_STATE")
            .await
            .expect("GET_STATE answers");
    }
    let (code, _) = fw.call(json!({"type": "REVIVE"})).await;
    assert_eq!(code, 202);
    corral_e2e::cluster::settle();
    let log = cluster.master.log_text();
    assert!(
        log.contains(expect_in_log),
        "master log names the failure '{expect_in_log}':\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_survives_an_allocator_that_loops_forever() {
    master_survives("loop_allocator", "deadline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_survives_an_allocator_that_traps() {
    master_survives("trap_allocator", "trapped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_survives_an_allocator_that_allocates_without_bound() {
    master_survives("membomb_allocator", "memory limit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_executor_fails_the_task_and_the_agent_keeps_serving() {
    let wasm = plugin_wasm("trap_executor");
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent(
            "cpus:1;mem:512",
            &["--executor", &wasm.display().to_string()],
        )
        .await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("victim", json!({}))).await;
    for round in 0..2 {
        let offer = fw.offers(10).await.remove(0);
        let id = format!("t{round}");
        assert_eq!(
            fw.launch(&offer, vec![task(&id, &offer, "true", 0.1, 32.0)], 0.0)
                .await,
            202
        );
        let failed = fw.task_state(&id, "TASK_FAILED", 20).await;
        let message = failed["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("trap"),
            "the message names the plugin: {failed}"
        );
    }
    let health = corral_e2e::http_get(format!("http://{}/health", cluster.agent_addrs[0]))
        .await
        .expect("agent health");
    assert!(health.status().is_success());
}
