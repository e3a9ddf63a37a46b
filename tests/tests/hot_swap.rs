//! Live hot swap of the allocator with `corral plugin swap allocator`, against real master and
//! agent processes with a framework running tasks: the swap keeps running tasks and
//! outstanding offers, offers nothing twice, survives a master restart, and a misbehaving
//! policy is rolled back with the reason.

use std::path::PathBuf;

use corral_e2e::{Cluster, Framework, framework_info, plugin_wasm, scalar, task};
use serde_json::json;

fn manifest(dir: &std::path::Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("name = \"{name}\"\nkind = \"allocator\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n"),
    )
    .expect("write manifest");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_with_a_framework_running_tasks_and_restart_keeps_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = format!("file://{}", dir.path().join("registry.redb").display());
    let mut cluster = Cluster::master_with_state(&state, &[]).await;
    cluster.add_agent("cpus:2;mem:1024", &[]).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("busy", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    assert_eq!(
        fw.launch(
            &offer,
            vec![task("long", &offer, "sleep 60", 1.0, 256.0)],
            0.0
        )
        .await,
        202
    );
    // The task runs, and what is left comes back as one outstanding offer (in either order).
    let mut left = None;
    let mut running = false;
    while left.is_none() || !running {
        let event = fw.next_event(20).await.expect("an event");
        if event["type"] == "UPDATE" {
            fw.ack(&event["update"]["status"]).await;
            running |= event["update"]["status"]["state"] == "TASK_RUNNING";
        } else if event["type"] == "OFFERS" {
            left = event["offers"]["offers"][0]
                .as_object()
                .map(|_| event["offers"]["offers"][0].clone());
        }
    }
    let left = left.expect("an offer");
    assert!((scalar(&left, "cpus") - 1.0).abs() < 1e-9, "{left}");

    let drf = plugin_wasm("drf").display().to_string();
    let m = manifest(dir.path(), "team-drf");
    let (code, out, err) = cluster.cli(&[
        "plugin",
        "swap",
        "allocator",
        &drf,
        "--manifest",
        &m.display().to_string(),
    ]);
    assert_eq!(code, 0, "swap succeeds: {out} {err}\n{}", cluster.logs());
    assert!(out.contains("is active"), "{out}");

    // Nothing is offered twice: the outstanding offer still holds the rest of the agent.
    if let Some(event) = fw.next_event(2).await {
        assert_ne!(event["type"], "OFFERS", "nothing new to offer: {event}");
    }
    let tasks = corral_e2e::operator(&cluster.master_addr, "GET_TASKS")
        .await
        .expect("GET_TASKS");
    let running = tasks["get_tasks"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .any(|t| t["task_id"]["value"] == "long" && t["state"] == "TASK_RUNNING");
    assert!(running, "the running task is untouched: {tasks}");
    // The old offer is still valid under the new policy, and declined it comes back.
    assert_eq!(fw.decline(&left, 0.0).await, 202);
    let again = fw.offers(10).await.remove(0);
    assert!((scalar(&again, "cpus") - 1.0).abs() < 1e-9, "{again}");

    let (code, listed, err) = cluster.cli(&["plugin", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(listed.contains("team-drf"), "{listed}");
    cluster.master.restart();
    cluster.wait_healthy(&cluster.master_addr.clone()).await;
    let (code, after, err) = cluster.cli(&["plugin", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let after: serde_json::Value = serde_json::from_str(&after).expect("JSON");
    let sha = after["list"]["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["name"] == "team-drf")
        .map(|p| p["sha256"].clone())
        .expect("installed plugin survives the restart");
    assert_eq!(
        after["list"]["allocator"]["active"]["plugin"], sha,
        "the restarted master runs the swapped-in allocator"
    );
}

async fn rolled_back(fixture: &str, reason: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("victim", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);

    let wasm = plugin_wasm(fixture).display().to_string();
    let m = manifest(dir.path(), fixture);
    let (code, out, err) = cluster.cli(&[
        "plugin",
        "swap",
        "allocator",
        &wasm,
        "--manifest",
        &m.display().to_string(),
    ]);
    assert_ne!(code, 0, "{fixture} is not kept: {out}");
    assert!(
        err.contains(reason),
        "the operator is told why ({reason}): {err}"
    );
    let (_, listed, _) = cluster.cli(&["plugin", "list"]);
    assert!(listed.contains("allocator: drf"), "{listed}");
    assert!(listed.contains("rolled_back"), "{listed}");
    // The old policy offers again once the offer is declined.
    assert_eq!(fw.decline(&offer, 0.0).await, 202);
    let again = fw.offers(15).await;
    assert_eq!(again.len(), 1, "{}", cluster.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_policy_is_rolled_back() {
    rolled_back("trap_allocator", "trapped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_policy_is_rolled_back() {
    rolled_back("loop_allocator", "deadline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_policy_is_rolled_back() {
    rolled_back("membomb_allocator", "memory limit").await;
}
