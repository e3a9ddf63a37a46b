//! The API through the real router stack, against an in-memory store and no master: status
//! codes, headers, and the exact key sets of Marathon's responses (src/fixtures).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use corral_api::v1::TaskState;
use corral_state::MemoryStore;

use super::router;
use crate::services::{Services, ServicesConfig};
use crate::store::{Loaded, ServiceStore};
use crate::tasks::TaskRecord;
use crate::time::Timestamp;

const INFO_JSON: &str = include_str!("../fixtures/info.json");
const APP_TASKS_JSON: &str = include_str!("../fixtures/app_tasks.json");
const TASKS_JSON: &str = include_str!("../fixtures/tasks.json");

pub(super) fn services() -> Arc<Services> {
    services_with(Arc::new(corral_authz::AllowAll))
}

/// The services with `authorizer` deciding who may manage and view apps.
pub(super) fn services_with(authorizer: Arc<dyn corral_authz::Authorizer>) -> Arc<Services> {
    let config = ServicesConfig {
        master: "127.0.0.1:5050".into(),
        listen: "127.0.0.1:8080".parse().expect("addr"),
        hostname: "localhost".into(),
        role: "*".into(),
        user: "root".into(),
        framework_name: "marathon".into(),
        state_description: "memory".into(),
        credential: None,
        auth: Default::default(),
        authorizer,
        tls: None,
        master_tls: None,
        master_etcd_tls: None,
    };
    let store = ServiceStore::new(Arc::new(MemoryStore::new()));
    Arc::new(Services::new(config, store, Loaded::default()))
}

pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

pub(super) async fn call(
    services: &Arc<Services>,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Answer {
    raw(services, request(method, uri, body)).await
}

/// A call as the authenticated `principal` (as the authentication layer marks it).
pub(super) async fn call_as(
    services: &Arc<Services>,
    principal: &str,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Answer {
    let mut request = request(method, uri, body);
    request
        .extensions_mut()
        .insert(corral_http::auth::Principal(principal.to_string()));
    raw(services, request).await
}

fn request(method: Method, uri: &str, body: Option<Value>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(match body {
            Some(b) => Body::from(b.to_string()),
            None => Body::empty(),
        })
        .expect("request")
}

pub(super) async fn raw(services: &Arc<Services>, request: Request<Body>) -> Answer {
    let app = corral_http::stack(
        router(services.clone()),
        corral_http::auth::HttpAuth::open(),
    );
    let response = app.oneshot(request).await.expect("answered");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

pub(super) fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    list.sort();
    list
}

const APP_KEYS: [&str; 19] = [
    "backoffFactor",
    "backoffSeconds",
    "cmd",
    "cpus",
    "disk",
    "executor",
    "gpus",
    "id",
    "instances",
    "killSelection",
    "labels",
    "maxLaunchDelaySeconds",
    "mem",
    "networks",
    "portDefinitions",
    "requirePorts",
    "unreachableStrategy",
    "upgradeStrategy",
    "version",
];

fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    let mut all: Vec<&str> = base.to_vec();
    all.extend_from_slice(more);
    sorted(&all)
}

#[tokio::test]
async fn ping_answers_pong() {
    let s = services();
    let answer = call(&s, Method::GET, "/ping", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text, "pong");
}

#[tokio::test]
async fn creating_an_app_answers_201_with_marathons_post_body() {
    let s = services();
    let answer = call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/shop/web", "cmd": "sleep 100", "instances": 2})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.headers["location"], "/v2/apps/shop/web");
    let deployment = answer.body["deployments"][0]["id"]
        .as_str()
        .expect("a deployment id")
        .to_string();
    assert_eq!(
        answer.headers["marathon-deployment-id"],
        deployment.as_str()
    );
    // Marathon's POST answer: the app as given (no versionInfo, service port not yet
    // assigned), zero counts, no tasks, its deployment.
    assert_eq!(
        keys(&answer.body),
        with(
            &APP_KEYS,
            &[
                "tasksStaged",
                "tasksRunning",
                "tasksHealthy",
                "tasksUnhealthy",
                "deployments",
                "tasks"
            ]
        )
    );
    assert_eq!(answer.body["portDefinitions"][0]["port"], 0);

    let list = call(&s, Method::GET, "/v2/apps", None).await;
    let app = &list.body["apps"][0];
    assert_eq!(
        keys(app),
        with(
            &APP_KEYS,
            &[
                "versionInfo",
                "tasksStaged",
                "tasksRunning",
                "tasksHealthy",
                "tasksUnhealthy",
                "deployments"
            ]
        )
    );
    assert_eq!(
        app["portDefinitions"][0]["port"], 10000,
        "a service port is assigned"
    );
    assert_eq!(app["deployments"], json!([{"id": deployment}]));
    assert_eq!(app["versionInfo"]["lastConfigChangeAt"], app["version"]);

    let one = call(&s, Method::GET, "/v2/apps//shop//web", None).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        keys(&one.body["app"]),
        with(
            &APP_KEYS,
            &[
                "versionInfo",
                "tasksStaged",
                "tasksRunning",
                "tasksHealthy",
                "tasksUnhealthy",
                "deployments",
                "tasks"
            ]
        )
    );
    let again = call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/shop/web", "cmd": "sleep 1"})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.body,
        json!({"message": "An app with id [/shop/web] already exists."})
    );
}

#[tokio::test]
async fn embeds_add_their_keys_in_every_spelling() {
    let s = services();
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "cmd": "sleep 100"})),
    )
    .await;
    for embed in ["apps.tasks", "app.tasks", "tasks"] {
        let answer = call(&s, Method::GET, &format!("/v2/apps?embed={embed}"), None).await;
        assert_eq!(answer.body["apps"][0]["tasks"], json!([]), "{embed}");
    }
    let answer = call(
        &s,
        Method::GET,
        "/v2/apps?embed=apps.readiness&embed=apps.taskStats&embed=apps.lastTaskFailure",
        None,
    )
    .await;
    let app = &answer.body["apps"][0];
    assert_eq!(app["readinessCheckResults"], json!([]));
    assert_eq!(app["taskStats"], json!({}));
    assert!(app.get("lastTaskFailure").is_none(), "no failure yet");
    assert!(app.get("tasks").is_none());
}

#[tokio::test]
async fn unknown_apps_and_routes_are_404_with_marathons_messages() {
    let s = services();
    for (method, uri) in [
        (Method::GET, "/v2/apps/nope"),
        (Method::GET, "/v2/apps/nope/tasks"),
        (Method::DELETE, "/v2/apps/nope"),
        (Method::PATCH, "/v2/apps/nope"),
    ] {
        let answer = call(&s, method.clone(), uri, Some(json!({"instances": 1}))).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(
            answer.body,
            json!({"message": "App '/nope' does not exist"}),
            "{method} {uri}"
        );
    }
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "cmd": "sleep 100"})),
    )
    .await;
    let task = call(&s, Method::DELETE, "/v2/apps/a/tasks/a.nope", None).await;
    assert_eq!(task.status, StatusCode::NOT_FOUND);
    assert_eq!(
        task.body,
        json!({"message": "Task 'a.nope' does not exist"})
    );
    let route = call(&s, Method::GET, "/v2/nothing", None).await;
    assert_eq!(route.status, StatusCode::NOT_FOUND);
    assert_eq!(route.body["message"], "URI not found");
}

#[tokio::test]
async fn invalid_apps_are_422_with_json_paths() {
    let s = services();
    let answer = call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "cmd": "sleep 1", "cpus": -1, "mem": "x"})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["message"], "Object is not valid");
    let paths: Vec<&str> = answer.body["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(paths, ["/cpus", "/mem"]);
    let docker = call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "container": {"type": "DOCKER", "docker": {"image": "nginx"}}})),
    )
    .await;
    assert_eq!(docker.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        docker.text.contains("images are not supported yet"),
        "{}",
        docker.text
    );
    let not_json = raw(
        &s,
        Request::post("/v2/apps")
            .body(Body::from("{nope"))
            .expect("request"),
    )
    .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.body["message"], "Invalid JSON");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let s = services();
    let huge = format!(
        "{{\"id\": \"/a\", \"cmd\": \"{}\"}}",
        "x".repeat(super::respond::MAX_BODY_BYTES + 1)
    );
    let answer = raw(
        &s,
        Request::post("/v2/apps")
            .header("content-type", "application/json")
            .body(Body::from(huge))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("larger than")),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_deployment_locks_the_app_until_force() {
    let s = services();
    let created = call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "cmd": "sleep 100"})),
    )
    .await;
    let deployment = created.body["deployments"][0]["id"].clone();
    let locked = call(&s, Method::PUT, "/v2/apps/a", Some(json!({"instances": 3}))).await;
    assert_eq!(locked.status, StatusCode::CONFLICT);
    assert_eq!(
        locked.body,
        json!({
            "message": "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
            "deployments": [{"id": deployment}]
        })
    );
    let forced = call(
        &s,
        Method::PUT,
        "/v2/apps/a?force=True",
        Some(json!({"instances": 3})),
    )
    .await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.text);
    assert_eq!(keys(&forced.body), ["deploymentId", "version"]);
    assert_eq!(
        forced.headers["marathon-deployment-id"],
        forced.body["deploymentId"].as_str().expect("id")
    );
    let deployments = call(&s, Method::GET, "/v2/deployments", None).await;
    let list = deployments.body.as_array().expect("array");
    assert_eq!(
        list.len(),
        1,
        "the forced change replaced the first deployment"
    );
    assert_eq!(list[0]["id"], forced.body["deploymentId"]);
    assert_eq!(
        list[0]["steps"][0]["actions"][0]["action"],
        "ScaleApplication"
    );
    // DELETE forces by default, as in Marathon.
    let deleted = call(&s, Method::DELETE, "/v2/apps/a", None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let refused = call(
        &s,
        Method::POST,
        "/v2/apps?force=false",
        Some(json!({"id": "/a", "cmd": "sleep 1"})),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::CONFLICT,
        "the stop deployment still runs"
    );
}

#[tokio::test]
async fn put_creates_patch_updates_and_versions_are_kept() {
    let s = services();
    let created = call(
        &s,
        Method::PUT,
        "/v2/apps/b",
        Some(json!({"cmd": "sleep 100"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.headers["location"], "/v2/apps/b");
    let first_version = created.body["version"].clone();
    let patched = call(
        &s,
        Method::PATCH,
        "/v2/apps/b?force=true",
        Some(json!({"cmd": "sleep 200"})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let app = call(&s, Method::GET, "/v2/apps/b", None).await.body["app"].clone();
    assert_eq!(app["cmd"], "sleep 200");
    assert_eq!(
        app["portDefinitions"][0]["port"], 10000,
        "the service port is kept"
    );
    let versions = call(&s, Method::GET, "/v2/apps/b/versions", None).await;
    assert_eq!(versions.body["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(versions.body["versions"][1], first_version, "newest first");
    let old = call(
        &s,
        Method::GET,
        &format!(
            "/v2/apps/b/versions/{}",
            first_version.as_str().expect("version")
        ),
        None,
    )
    .await;
    assert_eq!(old.body["cmd"], "sleep 100");
    let rollback = call(
        &s,
        Method::PUT,
        "/v2/apps/b?force=true",
        Some(json!({"version": first_version})),
    )
    .await;
    assert_eq!(rollback.status, StatusCode::OK, "{}", rollback.text);
    let app = call(&s, Method::GET, "/v2/apps/b", None).await.body["app"].clone();
    assert_eq!(app["cmd"], "sleep 100");
    let mixed = call(
        &s,
        Method::PUT,
        "/v2/apps/b?force=true",
        Some(json!({"version": first_version, "cmd": "x y"})),
    )
    .await;
    assert_eq!(mixed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let many = call(
        &s,
        Method::PUT,
        "/v2/apps?force=true",
        Some(json!([{"id": "/b", "instances": 2}, {"id": "/c", "cmd": "sleep 1"}])),
    )
    .await;
    assert_eq!(many.status, StatusCode::OK, "{}", many.text);
    let list = call(&s, Method::GET, "/v2/apps", None).await;
    assert_eq!(list.body["apps"].as_array().map(Vec::len), Some(2));
    let bad_many = call(
        &s,
        Method::PATCH,
        "/v2/apps?force=true",
        Some(json!([{"id": "/b", "cpus": 0}])),
    )
    .await;
    assert_eq!(bad_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_many.body["details"][0]["path"], "(0)/cpus");
}

pub(super) async fn with_task(s: &Arc<Services>, app_id: &str) -> TaskRecord {
    let mut world = s.world.lock().await;
    let app = world.apps.get(app_id).expect("app").clone();
    let record = TaskRecord {
        id: TaskRecord::new_id(&app.path_id(), "564bd685-4c30-11e5-98c1-be5b2935a987"),
        app_id: app.id.clone(),
        version: app.version,
        config_version: app.config_version(),
        agent_id: "agent0".into(),
        host: "srv7.hw.ca1.mesosphere.com".into(),
        attributes: Vec::new(),
        ports: vec![31756],
        state: TaskState::TaskRunning,
        staged_at: Timestamp::parse("2015-08-26T20:23:39.463Z").expect("time"),
        started_at: Timestamp::parse("2015-08-26T20:23:44.678Z"),
        ip_addresses: Vec::new(),
        kill_requested_at: None,
        unreachable_since: None,
        healthy: None,
    };
    world.tasks.insert(record.id.clone(), record.clone());
    record
}

/// Marathon's task writer always adds these to the keys its examples show (raml `Task`:
/// repeated fields without `omitEmpty`); `region` and `zone` need fault domains, which
/// Corral's agents do not have yet.
const ALWAYS_WRITTEN: [&str; 4] = [
    "healthCheckResults",
    "ipAddresses",
    "localVolumes",
    "servicePorts",
];

fn expected_task_keys(fixture: &str) -> Vec<String> {
    let example: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    let mut keys: Vec<String> = keys(&example["tasks"][0])
        .into_iter()
        .filter(|k| k != "region" && k != "zone")
        .collect();
    keys.extend(ALWAYS_WRITTEN.iter().map(|k| k.to_string()));
    keys.sort();
    keys.dedup();
    keys
}

#[tokio::test]
async fn tasks_have_the_key_sets_of_marathons_examples() {
    let s = services();
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/minecraft/survival-world", "cmd": "sleep 100"})),
    )
    .await;
    let task = with_task(&s, "/minecraft/survival-world").await;
    let app_tasks = call(
        &s,
        Method::GET,
        "/v2/apps/minecraft/survival-world/tasks",
        None,
    )
    .await;
    let listed = &app_tasks.body["tasks"][0];
    assert_eq!(keys(listed), expected_task_keys(APP_TASKS_JSON));
    assert_eq!(listed["id"], task.id.as_str());
    assert_eq!(listed["appId"], "/minecraft/survival-world");
    assert_eq!(listed["stagedAt"], "2015-08-26T20:23:39.463Z");
    assert_eq!(listed["servicePorts"], json!([]));
    let all = call(&s, Method::GET, "/v2/tasks", None).await;
    assert_eq!(keys(&all.body["tasks"][0]), expected_task_keys(TASKS_JSON));
    assert_eq!(all.body["tasks"][0]["servicePorts"], json!([10000]));
    let running = call(&s, Method::GET, "/v2/tasks?status=running", None).await;
    assert_eq!(running.body["tasks"].as_array().map(Vec::len), Some(1));
    let staging = call(&s, Method::GET, "/v2/tasks?status[]=staging", None).await;
    assert_eq!(staging.body["tasks"], json!([]));
    let embedded = call(
        &s,
        Method::GET,
        "/v2/apps/minecraft/survival-world?embed=app.taskStats",
        None,
    )
    .await;
    assert_eq!(embedded.body["app"]["tasksRunning"], 1);
    assert_eq!(
        embedded.body["app"]["taskStats"]["totalSummary"]["stats"]["counts"]["running"],
        1
    );
}

#[tokio::test]
async fn killing_a_task_marks_it_and_scale_lowers_instances() {
    let s = services();
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "cmd": "sleep 100", "instances": 2})),
    )
    .await;
    let task = with_task(&s, "/a").await;
    let killed = call(
        &s,
        Method::DELETE,
        &format!("/v2/apps/a/tasks/{}?force=true", task.id),
        None,
    )
    .await;
    assert_eq!(killed.status, StatusCode::OK, "{}", killed.text);
    assert_eq!(killed.body["task"]["id"], task.id.as_str());
    assert!(s.world.lock().await.tasks[&task.id].kill_requested());
    let second = with_task(&s, "/a").await;
    let scaled = call(
        &s,
        Method::DELETE,
        &format!("/v2/apps/a/tasks/{}?scale=true&force=true", second.id),
        None,
    )
    .await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.text);
    assert_eq!(keys(&scaled.body), ["deploymentId", "version"]);
    assert_eq!(s.world.lock().await.apps["/a"].instances, 1);
}

#[tokio::test]
async fn info_and_leader_have_marathons_keys() {
    let s = services();
    let info = call(&s, Method::GET, "/v2/info", None).await;
    let example: Value = serde_json::from_str(INFO_JSON).expect("fixture is JSON");
    assert_eq!(keys(&info.body), keys(&example));
    for section in ["marathon_config", "zookeeper_config", "http_config"] {
        assert_eq!(
            keys(&info.body[section]),
            keys(&example[section]),
            "{section}"
        );
    }
    assert_eq!(info.body["name"], "marathon");
    assert_eq!(info.body["marathon_config"]["framework_name"], "marathon");
    assert_eq!(info.body["marathon_config"]["failover_timeout"], 604_800);
    let leader = call(&s, Method::GET, "/v2/leader", None).await;
    assert_eq!(leader.body, json!({"leader": "localhost:8080"}));
}

#[tokio::test]
async fn deleting_a_deployment_rolls_it_back_or_with_force_stops_it() {
    let s = services();
    let created = call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/a", "cmd": "sleep 100", "instances": 2})),
    )
    .await;
    let first = created.body["deployments"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let listed = call(&s, Method::GET, "/v2/deployments", None).await.body;
    assert_eq!(listed[0]["currentStep"], 1);
    assert_eq!(listed[0]["totalSteps"], 2);
    assert_eq!(listed[0]["currentActions"][0]["action"], "StartApplication");

    let missing = call(&s, Method::DELETE, "/v2/deployments/nope", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body,
        json!({"message": "DeploymentPlan nope does not exist"})
    );

    // Rolling back a creation deletes the app, in a deployment of its own.
    let rolled = call(
        &s,
        Method::DELETE,
        &format!("/v2/deployments/{first}"),
        None,
    )
    .await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.text);
    assert_eq!(keys(&rolled.body), ["deploymentId", "version"]);
    let listed = call(&s, Method::GET, "/v2/deployments", None).await.body;
    let list = listed.as_array().expect("array");
    assert_eq!(list.len(), 1, "the rolled back deployment is gone");
    assert_eq!(list[0]["id"], rolled.body["deploymentId"]);
    assert_eq!(
        list[0]["steps"][0]["actions"][0],
        json!({"action": "StopApplication", "app": "/a"})
    );
    assert_eq!(
        call(&s, Method::GET, "/v2/apps/a", None).await.status,
        StatusCode::NOT_FOUND
    );

    // A scale rolled back restores the instances; force just stops the deployment.
    let created = call(
        &s,
        Method::POST,
        "/v2/apps?force=true",
        Some(json!({"id": "/b", "cmd": "sleep 100", "instances": 2})),
    )
    .await;
    let creation = created.body["deployments"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let stopped = call(
        &s,
        Method::DELETE,
        &format!("/v2/deployments/{creation}?force=true"),
        None,
    )
    .await;
    assert_eq!(stopped.status, StatusCode::ACCEPTED);
    let scaled = call(&s, Method::PUT, "/v2/apps/b", Some(json!({"instances": 5}))).await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.text);
    let scale = scaled.body["deploymentId"]
        .as_str()
        .expect("id")
        .to_string();
    let rolled = call(
        &s,
        Method::DELETE,
        &format!("/v2/deployments/{scale}"),
        None,
    )
    .await;
    assert_eq!(rolled.status, StatusCode::OK);
    let app = call(&s, Method::GET, "/v2/apps/b", None).await.body;
    assert_eq!(app["app"]["instances"], 2);
    let listed = call(&s, Method::GET, "/v2/deployments", None).await.body;
    let rollback = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["id"] == rolled.body["deploymentId"])
        .expect("the rollback is listed");
    assert_eq!(
        rollback["steps"][0]["actions"][0],
        json!({"action": "ScaleApplication", "app": "/b"})
    );
}
