//! Authorization with Mesos' ACLs (`--acls`) on a real master and agent: each action allowed
//! for the principal the ACLs name and refused (403 naming the action; for
//! `register_frameworks` an ERROR on the subscription, as Mesos; TASK_ERROR with
//! REASON_TASK_UNAUTHORIZED for `run_tasks`) for the others and for anonymous callers.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use corral_e2e::calls::{basic_client, first_event, post_as, status_and_text};
use corral_e2e::{Cluster, Framework, corral_bin, framework_info, task};

const FW: (&str, &str) = ("fw", "fw-secret");
const OTHER: (&str, &str) = ("other", "other-secret");
const OPS: (&str, &str) = ("ops", "ops-secret");

/// Only `fw` may use the role `analytics`; tasks run as `guest` only; only `ops` may tear
/// down frameworks, change weights and swap the allocator; nobody may mark agents gone or
/// install plugins. Everything else is permissive (the default).
const ACLS: &str = r#"{
  "register_frameworks": [
    {"principals": {"values": ["fw"]}, "roles": {"values": ["analytics"]}},
    {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}}],
  "run_tasks": [
    {"principals": {"type": "ANY"}, "users": {"values": ["guest"]}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
  "teardown_frameworks": [
    {"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "framework_principals": {"type": "ANY"}}],
  "update_weights": [
    {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "roles": {"type": "ANY"}}],
  "swap_allocator": [
    {"principals": {"values": ["ops"]}, "allocators": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "allocators": {"type": "ANY"}}],
  "set_log_level": [
    {"principals": {"values": ["ops"]}, "level": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "level": {"type": "ANY"}}],
  "get_endpoints": [
    {"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "paths": {"type": "ANY"}}],
  "mark_agents_gone": [{"principals": {"type": "NONE"}, "agents": {"type": "ANY"}}],
  "install_plugins": [{"principals": {"type": "NONE"}, "plugins": {"type": "ANY"}}]
}"#;

async fn post(
    master: &str,
    path: &str,
    credential: Option<(&str, &str)>,
    body: Value,
) -> (u16, String) {
    status_and_text(post_as(master, path, credential, &body).await).await
}

fn refused_for(answer: &(u16, String), action: &str) {
    assert_eq!(answer.0, 403, "{}", answer.1);
    assert!(
        answer.1.contains(action),
        "the refusal names {action}: {}",
        answer.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_is_allowed_as_the_acls_say_and_refused_otherwise() {
    let files = tempfile::tempdir().expect("temp dir");
    let auth = corral_e2e::auth_files::AuthFiles::write(files.path(), &[FW, OTHER, OPS], ACLS);
    let mut cluster = Cluster::master(&auth.flags()).await;
    // The task users are names in the ACLs, not accounts on this machine: the agent runs
    // the tasks as itself (`run_as_user.rs` tests switching).
    cluster
        .add_agent("cpus:2;mem:1024;disk:1024", &["--no-switch-user"])
        .await;
    let master = cluster.master_addr.clone();

    // register_frameworks: the role `analytics` is fw's alone.
    let analytics = |user: &str| {
        framework_info(
            "analytics",
            json!({"roles": ["analytics"], "user": user, "capabilities": [{"type": "MULTI_ROLE"}]}),
        )
    };
    let subscribe =
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": analytics("guest")}});
    // As Mesos refuses it: the stream answers with one ERROR, then closes.
    for caller in [Some(OTHER), None] {
        let answer = post_as(&master, "/api/v1/scheduler", caller, &subscribe).await;
        assert!(answer.headers().get("Mesos-Stream-Id").is_none());
        let (status, event) = first_event(answer).await;
        assert_eq!(status, 200);
        assert_eq!(event["type"], "ERROR", "{event}");
        let message = event["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("register_frameworks"), "{message}");
    }
    let mut framework = Framework::subscribe_as(&master, analytics("guest"), Some(FW)).await;

    // run_tasks: as the framework's user `guest` it runs; as `root` it is refused.
    let offer = framework.offers(10).await.remove(0);
    let allowed = task("as-guest", &offer, "sleep 30", 0.1, 16.0);
    let mut as_root = task("as-root", &offer, "sleep 30", 0.1, 16.0);
    as_root["command"]["user"] = json!("root");
    assert_eq!(
        framework.launch(&offer, vec![allowed, as_root], 0.0).await,
        202
    );
    let statuses = framework
        .task_states(
            &[("as-guest", "TASK_RUNNING"), ("as-root", "TASK_ERROR")],
            20,
        )
        .await;
    let refused = &statuses["as-root"];
    assert_eq!(refused["reason"], "REASON_TASK_UNAUTHORIZED", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("run_tasks") && m.contains("root")),
        "{refused}"
    );

    // update_weights and swap_allocator: ops only.
    let weights = json!({"type": "UPDATE_WEIGHTS", "update_weights":
        {"weight_infos": [{"role": "analytics", "weight": 2.0}]}});
    refused_for(
        &post(&master, "/api/v1", Some(OTHER), weights.clone()).await,
        "update_weights",
    );
    assert_eq!(post(&master, "/api/v1", Some(OPS), weights).await.0, 200);
    let swap = json!({"type": "SWAP_ALLOCATOR", "swap_allocator": {"plugin": "drf"}});
    let plugins = "/api/corral/v1/plugins";
    refused_for(
        &post(&master, plugins, Some(OTHER), swap.clone()).await,
        "swap_allocator",
    );
    refused_for(
        &post(&master, plugins, None, swap.clone()).await,
        "swap_allocator",
    );
    let answer = post(&master, plugins, Some(OPS), swap).await;
    assert_ne!(answer.0, 403, "{}", answer.1);

    // set_log_level and get_endpoints (Mesos' authorizable /metrics/snapshot): ops only.
    let level = json!({"type": "SET_LOGGING_LEVEL", "set_logging_level": {
        "level": 1, "duration": {"nanoseconds": 1_000_000_000u64}}});
    refused_for(
        &post(&master, "/api/v1", Some(OTHER), level.clone()).await,
        "set_log_level",
    );
    assert_eq!(post(&master, "/api/v1", Some(OPS), level).await.0, 200);
    for path in ["/metrics/snapshot", "/metrics"] {
        let url = format!("http://{master}{path}");
        let read = |caller: Option<(&'static str, &'static str)>| {
            let request = basic_client(caller).get(&url).send();
            async move { status_and_text(request.await.expect("the master answers")).await }
        };
        refused_for(&read(Some(OTHER)).await, "get_endpoints");
        refused_for(&read(None).await, "get_endpoints");
        assert_eq!(read(Some(OPS)).await.0, 200, "{path}");
    }

    // Nobody may install plugins or mark agents gone.
    let install = json!({"type": "INSTALL", "install": {"wasm": "AA=="}});
    refused_for(
        &post(&master, plugins, Some(OPS), install).await,
        "install_plugins",
    );
    let gone = json!({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": "a"}}});
    refused_for(
        &post(&master, "/api/v1", Some(OPS), gone).await,
        "mark_agents_gone",
    );

    // teardown_frameworks: another principal may not tear fw's framework down; ops may.
    let teardown =
        json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": framework.id}}});
    refused_for(
        &post(&master, "/api/v1", Some(OTHER), teardown.clone()).await,
        "teardown_frameworks",
    );
    let form = basic_client(Some(OTHER))
        .post(format!("http://{master}/master/teardown"))
        .body(format!("frameworkId={}", framework.id))
        .send()
        .await
        .expect("the master answers");
    let status = form.status().as_u16();
    refused_for(
        &(status, form.text().await.unwrap_or_default()),
        "teardown_frameworks",
    );
    refused_for(
        &post(&master, "/api/v1", None, teardown.clone()).await,
        "teardown_frameworks",
    );
    assert_eq!(post(&master, "/api/v1", Some(OPS), teardown).await.0, 200);
    let (_, frameworks) = post(
        &master,
        "/api/v1",
        Some(OPS),
        json!({"type": "GET_FRAMEWORKS"}),
    )
    .await;
    let frameworks: Value = serde_json::from_str(&frameworks).unwrap_or_default();
    let active = frameworks["get_frameworks"]["frameworks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        active
            .iter()
            .all(|f| f["framework_info"]["id"]["value"] != framework.id.as_str()),
        "the framework is gone: {frameworks}"
    );
    cluster.master.kill9();
}

#[test]
fn malformed_acls_stop_the_master_at_start_naming_the_fault() {
    for (acls, fault) in [
        (r#"{"run_task": []}"#, "unknown action 'run_task'"),
        (
            r#"{"run_tasks": [{"principals": {"type": "ANY"}}]}"#,
            "run_tasks[0]: 'users' is missing",
        ),
        ("{\"permissive\": tru", "not valid JSON"),
        (
            r#"{"manage_jobs": [{"principals": {"type": "ANY"}, "jobs": {"type": "NONE"}}]}"#,
            "manage_jobs not enforced",
        ),
    ] {
        let out = Command::new(corral_bin())
            .args(["master", "--port", "0", "--state", "memory", "--acls", acls])
            .stdin(Stdio::null())
            .output()
            .expect("run corral master");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the master refused {acls}");
        assert!(stderr.contains(fault), "{acls}: {stderr}");
    }
}
