//! The Mesos v1 scheduler API against a real master and agent: task lifecycles, bad input,
//! reconciliation.

use corral_e2e::{Cluster, Framework, framework_info, task};
use serde_json::{Value, json};

async fn cluster() -> Cluster {
    let mut c = Cluster::master(&[]).await;
    c.add_agent("cpus:2;mem:2048;disk:1024;ports:[31000-31009]", &[])
        .await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_finish_fail_with_their_exit_code_and_are_killed() {
    let cluster = cluster().await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("lifecycle", json!({}))).await;

    let offer = fw.offers(10).await.remove(0);
    let tasks = vec![
        task("ok", &offer, "echo hi", 0.1, 32.0),
        task("bad", &offer, "exit 7", 0.1, 32.0),
        task("long", &offer, "sleep 100", 0.1, 32.0),
    ];
    assert_eq!(fw.launch(&offer, tasks, 5.0).await, 202);

    let states = fw
        .task_states(
            &[
                ("ok", "TASK_FINISHED"),
                ("bad", "TASK_FAILED"),
                ("long", "TASK_RUNNING"),
            ],
            20,
        )
        .await;
    assert!(
        states["ok"]["uuid"].is_string(),
        "agent updates carry a uuid: {}",
        states["ok"]
    );
    let message = states["bad"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains('7'),
        "exit code in the message: {}",
        states["bad"]
    );

    let (code, _) = fw
        .call(json!({"type": "KILL", "kill": {"task_id": {"value": "long"}}}))
        .await;
    assert_eq!(code, 202);
    fw.task_state("long", "TASK_KILLED", 20).await;

    let state = corral_e2e::operator(&cluster.master_addr, "GET_TASKS")
        .await
        .expect("GET_TASKS");
    let text = state.to_string();
    assert!(
        text.contains("TASK_KILLED") && text.contains("TASK_FINISHED"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_clear_errors_and_the_master_keeps_serving() {
    let cluster = cluster().await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("bad-input", json!({}))).await;

    // Malformed JSON and unknown call types: 400 with a JSON message.
    let (code, body) = fw
        .raw_call("{not json".into(), Some(&fw.stream_id.clone()))
        .await;
    assert_eq!(code, 400);
    assert!(body["message"].is_string(), "JSON error body: {body}");
    let (code, body) = fw.call(json!({"type": "FROBNICATE"})).await;
    assert_eq!(code, 400, "{body}");

    // Stream id checks, as Mesos does them.
    let revive = json!({"type": "REVIVE", "framework_id": {"value": fw.id}}).to_string();
    let (code, body) = fw.raw_call(revive.clone(), None).await;
    assert_eq!(code, 400, "missing Mesos-Stream-Id: {body}");
    let (code, body) = fw.raw_call(revive, Some("not-the-stream")).await;
    assert_eq!(code, 400, "wrong Mesos-Stream-Id: {body}");
    let other =
        json!({"type": "REVIVE", "framework_id": {"value": "no-such-framework"}}).to_string();
    let (code, body) = fw.raw_call(other, Some(&fw.stream_id.clone())).await;
    assert!(
        code == 400 || code == 403,
        "unknown framework: {code} {body}"
    );

    // ACCEPT of an offer that does not exist: the task is lost with REASON_INVALID_OFFERS.
    let offer = fw.offers(10).await.remove(0);
    let mut fake = offer.clone();
    fake["id"] = json!({"value": "no-such-offer"});
    assert_eq!(
        fw.launch(&fake, vec![task("ghost", &offer, "true", 0.1, 32.0)], 0.0)
            .await,
        202
    );
    let lost = fw
        .wait_for(10, true, "ghost lost", |e| {
            e["update"]["status"]["task_id"]["value"] == "ghost"
        })
        .await;
    let status = &lost["update"]["status"];
    assert!(
        status["state"] == "TASK_LOST" || status["state"] == "TASK_DROPPED",
        "{status}"
    );
    assert_eq!(status["reason"], "REASON_INVALID_OFFERS");

    // Invalid tasks in a real offer: TASK_ERROR with REASON_TASK_INVALID each.
    let mut no_command = task("no-command", &offer, "true", 0.1, 32.0);
    no_command.as_object_mut().map(|o| o.remove("command"));
    let tasks = vec![
        task("too-big", &offer, "true", 64.0, 32.0),
        task("dup", &offer, "true", 0.1, 32.0),
        task("dup", &offer, "true", 0.1, 32.0),
        no_command,
    ];
    assert_eq!(fw.launch(&offer, tasks, 0.0).await, 202);
    let mut errors: Vec<Value> = Vec::new();
    while errors.len() < 3 {
        let e = fw
            .wait_for(10, true, "TASK_ERROR", |e| {
                e["update"]["status"]["state"] == "TASK_ERROR"
            })
            .await;
        errors.push(e["update"]["status"].clone());
    }
    let ids: Vec<&str> = errors
        .iter()
        .filter_map(|s| s["task_id"]["value"].as_str())
        .collect();
    assert!(
        ids.contains(&"too-big") && ids.contains(&"dup") && ids.contains(&"no-command"),
        "{errors:?}"
    );
    assert!(
        errors.iter().all(|s| s["reason"] == "REASON_TASK_INVALID"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .all(|s| s["message"].as_str().is_some_and(|m| !m.is_empty())),
        "{errors:?}"
    );
    // The first "dup" is valid and runs.
    fw.task_state("dup", "TASK_FINISHED", 20).await;

    let health = corral_e2e::http_get(format!("http://{}/health", cluster.master_addr))
        .await
        .expect("health");
    assert!(health.status().is_success());
    let version: Value = corral_e2e::http_get(format!("http://{}/version", cluster.master_addr))
        .await
        .expect("version")
        .json()
        .await
        .expect("version JSON");
    assert!(version["version"].is_string());
    corral_e2e::operator(&cluster.master_addr, "GET_STATE")
        .await
        .expect("GET_STATE still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_explicit_and_implicit() {
    let cluster = cluster().await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("reconcile", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    assert_eq!(
        fw.launch(
            &offer,
            vec![task("sleeper", &offer, "sleep 100", 0.1, 32.0)],
            5.0
        )
        .await,
        202
    );
    fw.task_state("sleeper", "TASK_RUNNING", 20).await;

    let (code, _) = fw
        .call(json!({"type": "RECONCILE", "reconcile": {"tasks": [
            {"task_id": {"value": "sleeper"}},
            {"task_id": {"value": "never-launched"}},
        ]}}))
        .await;
    assert_eq!(code, 202);
    let known = fw
        .wait_for(10, false, "sleeper reconciled", |e| {
            e["update"]["status"]["task_id"]["value"] == "sleeper"
        })
        .await;
    assert_eq!(known["update"]["status"]["state"], "TASK_RUNNING");
    assert_eq!(known["update"]["status"]["reason"], "REASON_RECONCILIATION");
    let unknown = fw
        .wait_for(10, false, "unknown reconciled", |e| {
            e["update"]["status"]["task_id"]["value"] == "never-launched"
        })
        .await;
    assert_eq!(unknown["update"]["status"]["state"], "TASK_LOST");

    let (code, _) = fw
        .call(json!({"type": "RECONCILE", "reconcile": {"tasks": []}}))
        .await;
    assert_eq!(code, 202);
    let implicit = fw
        .wait_for(10, false, "implicit reconciliation", |e| {
            e["update"]["status"]["task_id"]["value"] == "sleeper"
        })
        .await;
    assert_eq!(implicit["update"]["status"]["state"], "TASK_RUNNING");
}
