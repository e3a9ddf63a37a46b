//! Lists filtered to what the caller may see (Mesos' `view_frameworks`, `view_tasks`,
//! `view_flags`; apache/mesos docs/authorization.md) on a real master and agent: alice and
//! bob each see only their own user's frameworks and tasks in GET_STATE, GET_FRAMEWORKS,
//! GET_TASKS, v0 `/master/state`, `/master/frameworks`, `/master/tasks` and the SUBSCRIBE
//! stream; ops sees everything; an anonymous caller sees empty lists; GET_FLAGS is refused
//! (403 naming `view_flags`) to all but ops.

use serde_json::{Value, json};

use corral_e2e::calls::{basic_client, post_as, status_and_text};
use corral_e2e::{Cluster, Framework, OperatorSubscriber, framework_info, task};

const ALICE: (&str, &str) = ("alice", "alice-secret");
const BOB: (&str, &str) = ("bob", "bob-secret");
const OPS: (&str, &str) = ("ops", "ops-secret");

/// Alice views user alice's frameworks and tasks, bob user bob's, ops everything; nobody
/// else (anonymous callers included) views any. Only ops views the flags.
const ACLS: &str = r#"{
  "view_frameworks": [
    {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["bob"]}, "users": {"values": ["bob"]}},
    {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
  "view_tasks": [
    {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["bob"]}, "users": {"values": ["bob"]}},
    {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
  "view_flags": [
    {"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]
}"#;

async fn operator_as(master: &str, credential: Option<(&str, &str)>, kind: &str) -> Value {
    let (status, text) =
        status_and_text(post_as(master, "/api/v1", credential, &json!({"type": kind})).await).await;
    assert_eq!(status, 200, "{kind}: {text}");
    serde_json::from_str(&text).unwrap_or_default()
}

async fn v0_as(master: &str, credential: Option<(&str, &str)>, path: &str) -> Value {
    let answer = basic_client(credential)
        .get(format!("http://{master}{path}"))
        .send()
        .await
        .expect("the master answers");
    assert_eq!(answer.status().as_u16(), 200, "{path}");
    answer.json().await.unwrap_or_default()
}

/// The `value`s at `pointer` in each element of the array at `list` (sorted).
fn ids(answer: &Value, list: &str, pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = answer
        .pointer(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.pointer(pointer).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// The task ids of a GET_TASKS answer, active and completed.
fn task_ids(tasks: &Value) -> Vec<String> {
    let mut out = ids(tasks, "/tasks", "/task_id/value");
    out.extend(ids(tasks, "/completed_tasks", "/task_id/value"));
    out.sort();
    out
}

/// The events of `subscriber` until one is a TASK_UPDATED of `task` to `state`.
async fn events_until(subscriber: &mut OperatorSubscriber, task: &str, state: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let Some(event) = subscriber.next_event(20).await else {
            panic!("no TASK_UPDATED {task} {state}; events: {seen:#?}");
        };
        let done = event["type"] == "TASK_UPDATED"
            && event["task_updated"]["status"]["task_id"]["value"] == task
            && event["task_updated"]["state"] == state;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// Every framework id and task id an event names.
fn named(events: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for event in events {
        for pointer in [
            "/framework_added/framework/framework_info/id/value",
            "/framework_updated/framework/framework_info/id/value",
            "/framework_removed/framework_info/id/value",
            "/task_added/task/task_id/value",
            "/task_updated/status/task_id/value",
        ] {
            if let Some(name) = event.pointer(pointer).and_then(Value::as_str) {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_principal_sees_only_what_the_view_acls_let_it() {
    let files = tempfile::tempdir().expect("temp dir");
    let auth = corral_e2e::auth_files::AuthFiles::write(files.path(), &[ALICE, BOB, OPS], ACLS);
    let mut cluster = Cluster::master(&auth.flags()).await;
    // The task users are names in the ACLs, not accounts on this machine: the agent runs
    // the tasks as itself (`run_as_user.rs` tests switching).
    cluster
        .add_agent("cpus:2;mem:1024;disk:1024", &["--no-switch-user"])
        .await;
    let master = cluster.master_addr.clone();

    // Subscribers from the start: they see the frameworks and tasks come.
    let mut alice_stream = OperatorSubscriber::connect_as(&master, Some(ALICE)).await;
    let mut bob_stream = OperatorSubscriber::connect_as(&master, Some(BOB)).await;
    let mut ops_stream = OperatorSubscriber::connect_as(&master, Some(OPS)).await;
    for stream in [&mut alice_stream, &mut bob_stream, &mut ops_stream] {
        assert_eq!(stream.status, 200);
        let subscribed = stream.next_event(10).await.expect("SUBSCRIBED");
        assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
    }

    // Alice's framework (user alice) runs a task as alice and one as carol; bob's (user bob)
    // one as bob. The agent does not switch users (above), so any name will do.
    let mut alice = Framework::subscribe_as(
        &master,
        framework_info("alice-fw", json!({"user": "alice"})),
        Some(ALICE),
    )
    .await;
    let offer = alice.offers(10).await.remove(0);
    let as_alice = task("alice-task", &offer, "sleep 60", 0.1, 16.0);
    let mut as_carol = task("carol-task", &offer, "sleep 60", 0.1, 16.0);
    as_carol["command"]["user"] = json!("carol");
    // The rest of the agent goes to bob: alice refuses it for an hour.
    assert_eq!(
        alice.launch(&offer, vec![as_alice, as_carol], 3600.0).await,
        202
    );
    alice
        .task_states(
            &[
                ("alice-task", "TASK_RUNNING"),
                ("carol-task", "TASK_RUNNING"),
            ],
            20,
        )
        .await;
    let mut bob = Framework::subscribe_as(
        &master,
        framework_info("bob-fw", json!({"user": "bob"})),
        Some(BOB),
    )
    .await;
    let offer = bob.offers(10).await.remove(0);
    let as_bob = task("bob-task", &offer, "sleep 60", 0.1, 16.0);
    assert_eq!(bob.launch(&offer, vec![as_bob], 0.0).await, 202);
    bob.task_state("bob-task", "TASK_RUNNING", 20).await;
    let (alice_fw, bob_fw) = (alice.id.clone(), bob.id.clone());

    // The operator API: each principal its own; ops both; anonymous nothing.
    let state = operator_as(&master, Some(ALICE), "GET_STATE").await;
    assert_eq!(
        task_ids(&state["get_state"]["get_tasks"]),
        ["alice-task"],
        "{state}"
    );
    assert_eq!(
        ids(
            &state,
            "/get_state/get_frameworks/frameworks",
            "/framework_info/id/value"
        ),
        [alice_fw.as_str()]
    );
    let tasks = operator_as(&master, Some(BOB), "GET_TASKS").await;
    assert_eq!(task_ids(&tasks["get_tasks"]), ["bob-task"], "{tasks}");
    let frameworks = operator_as(&master, Some(BOB), "GET_FRAMEWORKS").await;
    assert_eq!(
        ids(
            &frameworks,
            "/get_frameworks/frameworks",
            "/framework_info/id/value"
        ),
        [bob_fw.as_str()]
    );
    let tasks = operator_as(&master, Some(OPS), "GET_TASKS").await;
    assert_eq!(
        task_ids(&tasks["get_tasks"]),
        ["alice-task", "bob-task", "carol-task"]
    );
    for kind in ["GET_TASKS", "GET_FRAMEWORKS", "GET_STATE"] {
        let answer = operator_as(&master, None, kind).await;
        let text = answer.to_string();
        for name in [&alice_fw, &bob_fw] {
            assert!(!text.contains(name.as_str()), "anonymous {kind}: {text}");
        }
        assert!(!text.contains("-task"), "anonymous {kind}: {text}");
    }

    // v0: the same, and `flags` in /master/state only for ops.
    let state = v0_as(&master, Some(ALICE), "/master/state").await;
    assert_eq!(ids(&state, "/frameworks", "/id"), [alice_fw.as_str()]);
    assert_eq!(ids(&state, "/frameworks/0/tasks", "/id"), ["alice-task"]);
    assert!(state.get("flags").is_none(), "{state}");
    let state = v0_as(&master, Some(OPS), "/master/state").await;
    assert!(state["flags"].is_object(), "{state}");
    assert_eq!(ids(&state, "/frameworks", "/id").len(), 2);
    let tasks = v0_as(&master, Some(BOB), "/master/tasks").await;
    assert_eq!(ids(&tasks, "/tasks", "/id"), ["bob-task"]);
    let frameworks = v0_as(&master, Some(BOB), "/master/frameworks").await;
    assert_eq!(ids(&frameworks, "/frameworks", "/id"), [bob_fw.as_str()]);
    let tasks = v0_as(&master, None, "/master/tasks").await;
    assert_eq!(tasks["tasks"], json!([]));
    let state = v0_as(&master, None, "/master/state").await;
    assert_eq!(state["frameworks"], json!([]));

    // GET_FLAGS: 403 naming view_flags, but for ops.
    let flags = json!({"type": "GET_FLAGS"});
    for caller in [Some(ALICE), None] {
        let (status, text) =
            status_and_text(post_as(&master, "/api/v1", caller, &flags).await).await;
        assert_eq!(status, 403, "{text}");
        assert!(text.contains("view_flags"), "{text}");
    }
    operator_as(&master, Some(OPS), "GET_FLAGS").await;

    // SUBSCRIBE: a last change of alice's (her task killed) comes after every event of bob's,
    // so alice's stream up to it would hold them; it holds only her own.
    let (status, _) = alice
        .call(json!({"type": "KILL", "kill": {"task_id": {"value": "alice-task"}}}))
        .await;
    assert_eq!(status, 202);
    // Acknowledged, so the agent sends the next update.
    alice.task_state("alice-task", "TASK_KILLED", 20).await;
    let events = events_until(&mut alice_stream, "alice-task", "TASK_KILLED").await;
    let names = named(&events);
    assert!(names.contains(&alice_fw), "{events:#?}");
    for hidden in [bob_fw.as_str(), "bob-task", "carol-task"] {
        assert!(!names.iter().any(|n| n == hidden), "{hidden}: {events:#?}");
    }
    let events = events_until(&mut bob_stream, "bob-task", "TASK_RUNNING").await;
    let names = named(&events);
    assert!(names.contains(&bob_fw), "{events:#?}");
    for hidden in [alice_fw.as_str(), "alice-task", "carol-task"] {
        assert!(!names.iter().any(|n| n == hidden), "{hidden}: {events:#?}");
    }
    let events = events_until(&mut ops_stream, "alice-task", "TASK_KILLED").await;
    let names = named(&events);
    for seen in [alice_fw.as_str(), bob_fw.as_str(), "carol-task", "bob-task"] {
        assert!(names.iter().any(|n| n == seen), "{seen}: {events:#?}");
    }

    // A later subscriber's SUBSCRIBED holds only what it may view.
    let mut late = OperatorSubscriber::connect_as(&master, Some(BOB)).await;
    let subscribed = late.next_event(10).await.expect("SUBSCRIBED");
    let state = &subscribed["subscribed"]["get_state"];
    assert_eq!(task_ids(&state["get_tasks"]), ["bob-task"], "{state}");
    cluster.master.kill9();
}
