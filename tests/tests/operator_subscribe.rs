//! The operator API's event stream (`SUBSCRIBE` on `POST /api/v1`) read with a raw HTTP
//! client: RecordIO framing of JSON events, a task's life in order, heartbeats, several
//! subscribers, and a subscriber that stops reading, which must not hold up the master.

use std::collections::BTreeMap;

use corral_e2e::operator_stream::subscribe_without_reading;
use corral_e2e::{Cluster, OperatorSubscriber, operator};
use serde_json::Value;

const RESOURCES: &str = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";

/// Reads events until `done` says so (or fails after `secs`), returning them all.
async fn read_until(
    sub: &mut OperatorSubscriber,
    secs: u64,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done(&seen) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = sub.next_event(left.as_secs().max(1)).await else {
            panic!("stream ended or timed out; events so far: {seen:#?}");
        };
        seen.push(event);
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {seen:#?}"
        );
    }
    seen
}

fn task_updates(events: &[Value], state: &str) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == "TASK_UPDATED" && e["task_updated"]["state"] == state)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_life_streams_in_order_as_recordio_json_with_heartbeats() {
    let cluster = Cluster::dev(RESOURCES).await;
    let master = cluster.master_addr.clone();
    let mut sub = OperatorSubscriber::connect(&master).await;
    assert_eq!(sub.status, 200);
    assert_eq!(sub.header("content-type"), Some("application/json"));
    assert_eq!(sub.header("transfer-encoding"), Some("chunked"));

    let subscribed = sub.next_any(10).await.expect("SUBSCRIBED");
    assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    let state = &subscribed["subscribed"]["get_state"];
    assert_eq!(
        state["get_agents"]["agents"].as_array().map(Vec::len),
        Some(1),
        "{state}"
    );
    // RecordIO exactly as Mesos frames it: "<length>\n<json>", the length in bytes.
    let first = &sub.records[0];
    assert_eq!(first[0], b'{', "records are JSON objects");

    let (code, out, err) = cluster
        .cli_off_thread(&[
            "execute",
            "--master",
            &master,
            "--instances",
            "1",
            "--cpus",
            "0.1",
            "--mem",
            "32",
            "--command",
            "echo hi",
        ])
        .await;
    assert_eq!(code, 0, "execute failed\n{out}\n{err}");

    let events = read_until(&mut sub, 30, |seen| {
        task_updates(seen, "TASK_FINISHED") == 1
    })
    .await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let position = |what: &dyn Fn(&Value) -> bool| {
        events
            .iter()
            .position(what)
            .unwrap_or_else(|| panic!("missing event in {kinds:?}"))
    };
    let framework_added = position(&|e| e["type"] == "FRAMEWORK_ADDED");
    let task_added = position(&|e| e["type"] == "TASK_ADDED");
    let running =
        position(&|e| e["type"] == "TASK_UPDATED" && e["task_updated"]["state"] == "TASK_RUNNING");
    let finished =
        position(&|e| e["type"] == "TASK_UPDATED" && e["task_updated"]["state"] == "TASK_FINISHED");
    assert!(
        framework_added < task_added && task_added < running && running < finished,
        "order: {kinds:?}"
    );
    let added = &events[task_added]["task_added"]["task"];
    assert_eq!(added["state"], "TASK_STAGING", "{added}");
    let framework_id = added["framework_id"]["value"]
        .as_str()
        .expect("framework id");
    let update = &events[finished]["task_updated"];
    assert_eq!(update["framework_id"]["value"], framework_id);
    assert_eq!(update["status"]["state"], "TASK_FINISHED");
    assert_eq!(
        update["status"]["task_id"], added["task_id"],
        "the update is for the added task"
    );

    // A second subscriber starts from a state that already holds the finished task.
    let mut second = OperatorSubscriber::connect(&master).await;
    let snapshot = second.next_any(10).await.expect("SUBSCRIBED");
    let tasks = &snapshot["subscribed"]["get_state"]["get_tasks"];
    let known: Vec<&Value> = ["tasks", "completed_tasks"]
        .iter()
        .flat_map(|k| tasks[*k].as_array().into_iter().flatten())
        .filter(|t| t["task_id"] == added["task_id"])
        .collect();
    assert_eq!(known.len(), 1, "{tasks}");

    // Heartbeats every 15 s (Mesos' default), on both streams.
    let mut heartbeat = None;
    for _ in 0..100 {
        match sub.next_any(20).await {
            Some(e) if e["type"] == "HEARTBEAT" => {
                heartbeat = Some(e);
                break;
            }
            Some(_) => continue,
            None => break,
        }
    }
    let heartbeat = heartbeat.expect("a HEARTBEAT within 20 s");
    assert_eq!(heartbeat.to_string(), r#"{"type":"HEARTBEAT"}"#);
    let record = sub.records.last().expect("the heartbeat record");
    assert_eq!(record.as_slice(), br#"{"type":"HEARTBEAT"}"#);
    let beat = second
        .next_any(20)
        .await
        .expect("the second stream beats too");
    assert_eq!(beat["type"], "HEARTBEAT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_reads_nothing_holds_up_neither_the_master_nor_the_others() {
    let cluster = Cluster::dev(RESOURCES).await;
    let master = cluster.master_addr.clone();
    let _stalled = subscribe_without_reading(&master).await;
    let mut reader = OperatorSubscriber::connect(&master).await;
    let first = reader.next_any(10).await.expect("SUBSCRIBED");
    assert_eq!(first["type"], "SUBSCRIBED");

    let master_for_cli = master.clone();
    let execute = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(corral_e2e::corral_bin())
            .args([
                "execute",
                "--instances",
                "40",
                "--cpus",
                "0.05",
                "--mem",
                "16",
                "--command",
                "true",
            ])
            .env("CORRAL_MASTER", &master_for_cli)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run corral");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    });
    // The master keeps answering while the stalled subscriber's socket fills.
    let events = read_until(&mut reader, 120, |seen| {
        task_updates(seen, "TASK_FINISHED") == 40
    })
    .await;
    let state = operator(&master, "GET_STATE")
        .await
        .expect("GET_STATE answers");
    assert_eq!(state["type"], "GET_STATE");
    let (code, out, err) = execute.await.expect("execute ran");
    assert_eq!(code, 0, "execute failed\n{out}\n{err}");

    let mut per_task: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in &events {
        if let Some(task) = event.get("task_added") {
            let id = task["task"]["task_id"]["value"]
                .as_str()
                .unwrap_or_default();
            per_task.entry(id.into()).or_default().push("ADDED".into());
        }
        if let Some(update) = event.get("task_updated") {
            let id = update["status"]["task_id"]["value"]
                .as_str()
                .unwrap_or_default();
            let state = update["state"].as_str().unwrap_or_default();
            per_task.entry(id.into()).or_default().push(state.into());
        }
    }
    assert_eq!(per_task.len(), 40, "{per_task:#?}");
    for (task, states) in &per_task {
        assert_eq!(
            states.first().map(String::as_str),
            Some("ADDED"),
            "{task}: {states:?}"
        );
        assert_eq!(
            states.last().map(String::as_str),
            Some("TASK_FINISHED"),
            "{task}: {states:?}"
        );
    }
}
