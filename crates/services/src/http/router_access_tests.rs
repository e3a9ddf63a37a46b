//! `manage_apps` and `view_apps` through the router: each change refused (Marathon's 403)
//! without `manage_apps` on every path it touches, and each read showing only what the
//! caller may view.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::access::NOT_AUTHORIZED;
use super::tests::{Answer, call_as, keys, services_with, with_task};
use crate::services::Services;

/// alice manages and views /team-a, bob only views it, ops manages and views everything;
/// nobody else (anonymous included) may do either.
const ACLS: &str = r#"{
  "permissive": false,
  "manage_apps": [
    {"principals": {"values": ["alice"]}, "apps": {"values": ["/team-a"]}},
    {"principals": {"values": ["ops"]}, "apps": {"values": ["/"]}}],
  "view_apps": [
    {"principals": {"values": ["alice", "bob"]}, "apps": {"values": ["/team-a"]}},
    {"principals": {"values": ["ops"]}, "apps": {"values": ["/"]}}]
}"#;

/// The services with [`ACLS`], /team-a/web and /team-b/x created by ops (their deployments
/// still in progress: no master here; their ids answered), a task of each, past their start
/// step.
async fn teams() -> (Arc<Services>, [String; 2]) {
    let acls = corral_authz::Acls::parse(ACLS).expect("valid ACLs");
    let s = services_with(Arc::new(acls));
    let mut deployments = [String::new(), String::new()];
    for (i, id) in ["/team-a/web", "/team-b/x"].into_iter().enumerate() {
        let app = json!({"id": id, "cmd": "sleep 100", "instances": 2});
        let created = call_as(&s, "ops", Method::POST, "/v2/apps", Some(app)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        deployments[i] = created.body["deployments"][0]["id"]
            .as_str()
            .expect("a deployment")
            .to_string();
        with_task(&s, id).await;
    }
    crate::deployments::progress::advance(&mut *s.world.lock().await);
    (s, deployments)
}

fn refused(answer: &Answer, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::FORBIDDEN,
        "{what}: {}",
        answer.text
    );
    assert_eq!(keys(&answer.body), ["message"], "{what}");
    let message = answer.body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(NOT_AUTHORIZED), "{what}: {message}");
}

fn not_refused(answer: &Answer, what: &str) {
    assert_ne!(
        answer.status,
        StatusCode::FORBIDDEN,
        "{what}: {}",
        answer.text
    );
}

/// Every change of the API, on /team-a/web (or its group) or on /team-b.
fn changes(team: &str, app: &str, deployment: &str) -> Vec<(Method, String, Option<Value>)> {
    let task = format!(
        "{}.564bd685-4c30-11e5-98c1-be5b2935a987",
        crate::path_id::PathId::parse(app).safe()
    );
    vec![
        (
            Method::POST,
            "/v2/apps".into(),
            Some(json!({"id": format!("{team}/new"), "cmd": "x"})),
        ),
        (
            Method::PUT,
            "/v2/apps".into(),
            Some(json!([{"id": app, "instances": 1}])),
        ),
        (
            Method::PATCH,
            "/v2/apps".into(),
            Some(json!([{"id": app, "instances": 1}])),
        ),
        (
            Method::PUT,
            format!("/v2/apps{app}"),
            Some(json!({"instances": 3})),
        ),
        (
            Method::PATCH,
            format!("/v2/apps{app}"),
            Some(json!({"instances": 3})),
        ),
        (Method::POST, format!("/v2/apps{app}/restart"), None),
        (Method::DELETE, format!("/v2/apps{app}/tasks"), None),
        (Method::DELETE, format!("/v2/apps{app}/tasks/{task}"), None),
        (
            Method::POST,
            "/v2/tasks/delete".into(),
            Some(json!({"ids": [task]})),
        ),
        (Method::DELETE, format!("/v2/queue{app}/delay"), None),
        (
            Method::POST,
            "/v2/groups".into(),
            Some(json!({"id": format!("{team}/g")})),
        ),
        (
            Method::PUT,
            format!("/v2/groups{team}"),
            Some(json!({"scaleBy": 2})),
        ),
        (
            Method::DELETE,
            format!("/v2/deployments/{deployment}"),
            None,
        ),
        (Method::DELETE, format!("/v2/apps{app}"), None),
        (Method::DELETE, format!("/v2/groups{team}"), None),
    ]
}

#[tokio::test]
async fn each_change_needs_manage_apps_on_every_path_it_touches() {
    let (s, [deployment, other]) = teams().await;
    for (method, uri, body) in changes("/team-a", "/team-a/web", &deployment) {
        let what = format!("bob {method} {uri}");
        refused(
            &call_as(&s, "bob", method.clone(), &uri, body.clone()).await,
            &what,
        );
        let anonymous = super::tests::call(&s, method.clone(), &uri, body.clone()).await;
        refused(&anonymous, &format!("anonymous {method} {uri}"));
    }
    for (method, uri, body) in changes("/team-b", "/team-b/x", &other) {
        let what = format!("alice {method} {uri}");
        refused(&call_as(&s, "alice", method, &uri, body).await, &what);
    }
    // A group change touches everything in the group: the root holds /team-b.
    let root = call_as(
        &s,
        "alice",
        Method::PUT,
        "/v2/groups",
        Some(json!({"scaleBy": 2})),
    )
    .await;
    refused(&root, "alice PUT /v2/groups");
    // ...and what its body names.
    let named = json!({"id": "sub", "apps": [{"id": "/team-b/y", "cmd": "x"}]});
    let answer = call_as(&s, "alice", Method::POST, "/v2/groups/team-a", Some(named)).await;
    refused(&answer, "alice POST /v2/groups/team-a naming /team-b/y");
    // The refusal names the action and the path.
    let answer = call_as(&s, "bob", Method::DELETE, "/v2/apps/team-a/web", None).await;
    assert_eq!(
        answer.body["message"],
        format!("{NOT_AUTHORIZED} (manage_apps on /team-a/web)")
    );
    // alice may do each to /team-a (whatever else the change answers).
    for (method, uri, body) in changes("/team-a", "/team-a/web", &deployment) {
        let what = format!("alice {method} {uri}");
        not_refused(&call_as(&s, "alice", method, &uri, body).await, &what);
    }
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[key].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn reads_show_only_what_the_caller_may_view() {
    let (s, _) = teams().await;
    let get = |who: &'static str, uri: &'static str| {
        let s = s.clone();
        async move {
            match who {
                "" => super::tests::call(&s, Method::GET, uri, None).await,
                _ => call_as(&s, who, Method::GET, uri, None).await,
            }
        }
    };
    for (who, apps) in [
        ("alice", vec!["/team-a/web"]),
        ("bob", vec!["/team-a/web"]),
        ("ops", vec!["/team-a/web", "/team-b/x"]),
        ("", vec![]),
    ] {
        let listed = get(who, "/v2/apps").await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(ids(&listed.body["apps"], "id"), apps, "{who}'s /v2/apps");
        let tasks = get(who, "/v2/tasks").await;
        let task_apps: Vec<String> = ids(&tasks.body["tasks"], "appId");
        assert_eq!(task_apps, apps, "{who}'s /v2/tasks");
        let queue = get(who, "/v2/queue").await;
        let mut queued: Vec<String> = queue.body["queue"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| q["app"]["id"].as_str().map(str::to_string))
            .collect();
        queued.sort();
        assert_eq!(queued, apps, "{who}'s /v2/queue");
        let deployments = get(who, "/v2/deployments").await;
        let mut affected: Vec<String> = deployments
            .body
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["affectedApps"].as_array().cloned().unwrap_or_default())
            .filter_map(|app| app.as_str().map(str::to_string))
            .collect();
        affected.sort();
        assert_eq!(affected, apps, "{who}'s /v2/deployments");
    }

    // An app the caller may not view is unknown, as Marathon answers; its tasks, versions
    // and group are refused.
    let hidden = get("alice", "/v2/apps/team-b/x").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body["message"], "App '/team-b/x' does not exist");
    for uri in [
        "/v2/apps/team-b/x/tasks",
        "/v2/apps/team-b/x/versions",
        "/v2/apps/team-b/*",
        "/v2/groups/team-b/versions",
    ] {
        refused(&get("alice", uri).await, uri);
    }
    assert_eq!(
        get("bob", "/v2/apps/team-a/web").await.status,
        StatusCode::OK
    );
    assert_eq!(
        ids(&get("bob", "/v2/apps/team-a/*").await.body["*"], "id"),
        ["/team-a/web"]
    );

    // The tree: the root always, the groups with something viewable, nothing else.
    let tree = get("alice", "/v2/groups").await;
    assert_eq!(tree.status, StatusCode::OK);
    assert_eq!(ids(&tree.body["groups"], "id"), ["/team-a"]);
    assert_eq!(ids(&tree.body["groups"][0]["apps"], "id"), ["/team-a/web"]);
    let anonymous = get("", "/v2/groups").await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body["groups"], json!([]));
    let other = get("alice", "/v2/groups/team-b").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ids(&get("ops", "/v2/groups").await.body["groups"], "id"),
        ["/team-a", "/team-b"]
    );
}

#[tokio::test]
async fn the_event_stream_needs_a_view_of_everything() {
    let (s, _) = teams().await;
    let subscribe = |who: Option<&str>| {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri("/v2/events")
            .header("accept", "text/event-stream")
            .body(Body::empty())
            .expect("request");
        if let Some(who) = who {
            request
                .extensions_mut()
                .insert(corral_http::auth::Principal(who.to_string()));
        }
        let app = corral_http::stack(
            super::router(s.clone()),
            corral_http::auth::HttpAuth::open(),
        );
        async move { app.oneshot(request).await.expect("answered").status() }
    };
    assert_eq!(subscribe(Some("alice")).await, StatusCode::FORBIDDEN);
    assert_eq!(subscribe(None).await, StatusCode::FORBIDDEN);
    // Only the head is read: the stream itself never ends.
    assert_eq!(subscribe(Some("ops")).await, StatusCode::OK);
}
