//! `manage_apps` and `view_apps` on the services API (Marathon's REST v2) with real processes:
//! a master, an agent and `corral services --acls`. alice manages and views /team-a, bob only
//! views it, ops manages everything, anonymous callers (reads need no credentials here) see
//! nothing; a refused change is Marathon's 403, and a bad `--acls` stops the services at start.

use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use corral_e2e::calls::basic_client;
use corral_e2e::{Cluster, corral_bin, eventually};

const ALICE: (&str, &str) = ("alice", "alice-secret");
const BOB: (&str, &str) = ("bob", "bob-secret");
const OPS: (&str, &str) = ("ops", "ops-secret");

/// Mesos' style: the first ACL covering a request decides; the last ones refuse the rest.
const ACLS: &str = r#"{
  "manage_apps": [
    {"principals": {"values": ["alice"]}, "apps": {"values": ["/team-a"]}},
    {"principals": {"values": ["ops"]}, "apps": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "apps": {"type": "NONE"}}],
  "view_apps": [
    {"principals": {"values": ["alice", "bob"]}, "apps": {"values": ["/team-a"]}},
    {"principals": {"values": ["ops"]}, "apps": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "apps": {"type": "NONE"}}]
}"#;

/// Marathon's 403 (docs/docs/rest-api/public/api/traits.raml, the `secured` trait).
const NOT_AUTHORIZED: &str = "Not Authorized to perform this action!";

/// One call to the services API as `caller` (anonymous when `None`): status and JSON body.
async fn call(
    services: &str,
    caller: Option<(&str, &str)>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = basic_client(caller).request(method, format!("http://{services}{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("the services API answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

fn app(id: &str, instances: u32) -> Value {
    json!({"id": id, "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "instances": instances})
}

fn app_ids(list: &Value) -> Vec<String> {
    list["apps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str().map(str::to_string))
        .collect()
}

/// Marathon's refusal: 403, a body of `message` alone, naming the action.
fn refused(answer: &(u16, Value), what: &str) {
    assert_eq!(answer.0, 403, "{what}: {}", answer.1);
    let keys: Vec<&String> = answer
        .1
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["message"], "{what}: {}", answer.1);
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(NOT_AUTHORIZED), "{what}: {message}");
    assert!(message.contains("manage_apps"), "{what}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_team_manages_and_sees_its_own_apps() {
    let files = tempfile::tempdir().expect("temp dir");
    let auth = corral_e2e::auth_files::AuthFiles::write(files.path(), &[ALICE, BOB, OPS], ACLS);

    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:4;mem:4096;disk:1024;ports:[31000-31099]", &[])
        .await;
    let services = cluster
        .start_services(&[auth.flags().as_slice(), &["--authenticate-http-readwrite"]].concat())
        .await;
    let api = services.addr.clone();

    // ops runs /team-b/x; alice creates /team-a/web, and may not create /team-b/y.
    let created = call(
        &api,
        Some(OPS),
        Method::POST,
        "/v2/apps",
        Some(app("/team-b/x", 1)),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let created = call(
        &api,
        Some(ALICE),
        Method::POST,
        "/v2/apps",
        Some(app("/team-a/web", 1)),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(created.1["id"], "/team-a/web");
    let other = call(
        &api,
        Some(ALICE),
        Method::POST,
        "/v2/apps",
        Some(app("/team-b/y", 1)),
    )
    .await;
    refused(&other, "alice creating /team-b/y");
    // Anonymous changes are refused before authorization: reads only are open.
    let anonymous = call(
        &api,
        None,
        Method::POST,
        "/v2/apps",
        Some(app("/team-a/z", 1)),
    )
    .await;
    assert_eq!(anonymous.0, 401, "{}", anonymous.1);

    // Both apps run: the deployments are real.
    eventually(90, "a running task of each app", || {
        let api = api.clone();
        async move {
            let (_, tasks) = call(&api, Some(OPS), Method::GET, "/v2/tasks", None).await;
            let running: Vec<&str> = tasks["tasks"]
                .as_array()?
                .iter()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| t["appId"].as_str())
                .collect();
            (running.contains(&"/team-a/web") && running.contains(&"/team-b/x")).then_some(())
        }
    })
    .await;

    // bob sees /team-a/web but may not scale it; alice may.
    let (status, seen) = call(&api, Some(BOB), Method::GET, "/v2/apps", None).await;
    assert_eq!(status, 200);
    assert_eq!(app_ids(&seen), ["/team-a/web"]);
    let scale = json!({"instances": 2});
    let bob_scales = call(
        &api,
        Some(BOB),
        Method::PUT,
        "/v2/apps/team-a/web",
        Some(scale.clone()),
    )
    .await;
    refused(&bob_scales, "bob scaling /team-a/web");
    let (_, web) = call(&api, Some(BOB), Method::GET, "/v2/apps/team-a/web", None).await;
    assert_eq!(
        web["app"]["instances"], 1,
        "bob's refused change changed nothing"
    );
    let alice_scales = call(
        &api,
        Some(ALICE),
        Method::PUT,
        "/v2/apps/team-a/web?force=true",
        Some(scale),
    )
    .await;
    assert_eq!(alice_scales.0, 200, "{}", alice_scales.1);

    // alice's lists leave /team-b out; an app she may not view is unknown to her.
    let (_, listed) = call(&api, Some(ALICE), Method::GET, "/v2/apps", None).await;
    assert_eq!(app_ids(&listed), ["/team-a/web"]);
    let (status, hidden) = call(&api, Some(ALICE), Method::GET, "/v2/apps/team-b/x", None).await;
    assert_eq!(status, 404, "{hidden}");
    assert_eq!(hidden["message"], "App '/team-b/x' does not exist");
    let (_, tasks) = call(&api, Some(ALICE), Method::GET, "/v2/tasks", None).await;
    let task_apps: Vec<&str> = tasks["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["appId"].as_str())
        .collect();
    assert!(
        !task_apps.is_empty() && task_apps.iter().all(|a| *a == "/team-a/web"),
        "{tasks}"
    );
    let (_, tree) = call(&api, Some(ALICE), Method::GET, "/v2/groups", None).await;
    let groups: Vec<&str> = tree["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert_eq!(groups, ["/team-a"], "{tree}");
    // An anonymous reader sees nothing; ops everything.
    let (status, nothing) = call(&api, None, Method::GET, "/v2/apps", None).await;
    assert_eq!(status, 200);
    assert_eq!(app_ids(&nothing), Vec::<String>::new());
    let (_, everything) = call(&api, Some(OPS), Method::GET, "/v2/apps", None).await;
    assert_eq!(app_ids(&everything), ["/team-a/web", "/team-b/x"]);
    // The event stream carries every app's events: refused to a restricted view.
    let events = basic_client(Some(ALICE))
        .get(format!("http://{api}/v2/events"))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .expect("the services API answers");
    assert_eq!(events.status().as_u16(), 403);

    // Killing a task of /team-b and deleting its app need manage_apps on it.
    let (_, team_b) = call(
        &api,
        Some(OPS),
        Method::GET,
        "/v2/apps/team-b/x/tasks",
        None,
    )
    .await;
    let task = team_b["tasks"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kill = call(
        &api,
        Some(ALICE),
        Method::POST,
        "/v2/tasks/delete",
        Some(json!({"ids": [task]})),
    )
    .await;
    refused(&kill, "alice killing a task of /team-b/x");
    let delete = call(&api, Some(ALICE), Method::DELETE, "/v2/apps/team-b/x", None).await;
    refused(&delete, "alice deleting /team-b/x");
    let (status, _) = call(&api, Some(OPS), Method::GET, "/v2/apps/team-b/x", None).await;
    assert_eq!(status, 200, "/team-b/x is still there");
    cluster.master.kill9();
}

#[test]
fn bad_acls_stop_the_services_at_start_naming_the_fault() {
    for (acls, fault) in [
        (r#"{"manage_app": []}"#, "unknown action 'manage_app'"),
        (
            r#"{"manage_apps": [{"principals": {"values": ["alice"]}, "apps": {"values": ["team-a"]}}]}"#,
            "manage_apps[0]: 'apps': 'team-a' is not a path",
        ),
        (
            r#"{"manage_jobs": [{"principals": {"type": "ANY"}, "jobs": {"type": "NONE"}}]}"#,
            "manage_jobs not enforced",
        ),
    ] {
        let out = Command::new(corral_bin())
            .args([
                "services",
                "--master",
                "127.0.0.1:1",
                "--state",
                "memory",
                "--port",
                "0",
                "--acls",
                acls,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run corral services");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the services refused {acls}");
        assert!(stderr.contains(fault), "{acls}: {stderr}");
    }
}
