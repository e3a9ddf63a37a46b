//! `/v2/groups` through the router: the tree, creation, updates, versions and deletion.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::tests::{call, keys, services};

#[tokio::test]
async fn groups_are_created_nested_shown_and_refused_twice() {
    let s = services();
    let root = call(&s, Method::GET, "/v2/groups", None).await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(
        keys(&root.body),
        ["apps", "dependencies", "groups", "id", "pods", "version"]
    );
    let created = call(
        &s,
        Method::POST,
        "/v2/groups",
        Some(
            json!({"id": "shop", "apps": [{"id": "web", "cmd": "sleep 1"}],
                    "groups": [{"id": "back", "dependencies": ["web"],
                                "apps": [{"id": "api", "cmd": "sleep 1", "instances": 2}]}]}),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(keys(&created.body), ["deploymentId", "version"]);
    assert_eq!(created.headers["location"], "/v2/groups/shop");
    let twice = call(&s, Method::POST, "/v2/groups", Some(json!({"id": "/shop"}))).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(
        twice.body["message"],
        "Group /shop is already created. Use PUT to change this group."
    );

    let shop = call(&s, Method::GET, "/v2/groups/shop", None).await.body;
    assert_eq!(shop["apps"][0]["id"], "/shop/web");
    assert_eq!(shop["groups"][0]["id"], "/shop/back");
    assert_eq!(shop["groups"][0]["dependencies"], json!(["/shop/web"]));
    assert_eq!(shop["groups"][0]["apps"][0]["instances"], 2);
    let only_groups = call(&s, Method::GET, "/v2/groups/shop?embed=group.groups", None)
        .await
        .body;
    assert!(only_groups.get("apps").is_none());
    assert!(only_groups["groups"][0].get("apps").is_none());
    let counted = call(
        &s,
        Method::GET,
        "/v2/groups/shop?embed=group.apps&embed=group.apps.counts",
        None,
    )
    .await
    .body;
    assert_eq!(counted["apps"][0]["tasksRunning"], 0);
    let missing = call(&s, Method::GET, "/v2/groups/nope", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body,
        json!({"message": "Group '/nope' does not exist"})
    );

    // The group's dependency orders the deployment: /shop/web before /shop/back/api.
    let listed = call(&s, Method::GET, "/v2/deployments", None).await.body;
    let steps = &listed[0]["steps"];
    assert_eq!(
        steps[0]["actions"].as_array().map(Vec::len),
        Some(2),
        "two starts"
    );
    assert_eq!(
        steps[1]["actions"],
        json!([{"action": "ScaleApplication", "app": "/shop/web"}])
    );
    assert_eq!(
        steps[2]["actions"],
        json!([{"action": "ScaleApplication", "app": "/shop/back/api"}])
    );
}

#[tokio::test]
async fn updates_scale_by_dry_run_roll_back_to_a_version_and_delete() {
    let s = services();
    let created = call(
        &s,
        Method::PUT,
        "/v2/groups/g",
        Some(
            json!({"apps": [{"id": "a", "cmd": "sleep 1", "instances": 2},
                             {"id": "b", "cmd": "sleep 1"}]}),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let first_version = created.body["version"].clone();

    let dry = call(
        &s,
        Method::PUT,
        "/v2/groups/g?dryRun=true&force=true",
        Some(json!({"apps": [{"id": "a", "cmd": "sleep 2", "instances": 2}]})),
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK);
    assert_eq!(
        dry.body["steps"],
        json!([{"actions": [{"action": "StopApplication", "app": "/g/b"}]},
               {"actions": [{"action": "RestartApplication", "app": "/g/a"}]}])
    );
    assert_eq!(
        call(&s, Method::GET, "/v2/apps/g/b", None).await.status,
        StatusCode::OK,
        "a dry run changes nothing"
    );

    let scaled = call(
        &s,
        Method::PUT,
        "/v2/groups/g?force=true",
        Some(json!({"scaleBy": 1.5})),
    )
    .await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.text);
    let a = call(&s, Method::GET, "/v2/apps/g/a", None).await.body;
    assert_eq!(a["app"]["instances"], 3, "ceil(2 x 1.5)");
    let b = call(&s, Method::GET, "/v2/apps/g/b", None).await.body;
    assert_eq!(b["app"]["instances"], 2, "ceil(1 x 1.5)");

    let versions = call(&s, Method::GET, "/v2/groups/g/versions", None)
        .await
        .body;
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    assert_eq!(versions[1], first_version);
    let first_uri = format!(
        "/v2/groups/g/versions/{}",
        first_version.as_str().unwrap_or_default()
    );
    let then = call(&s, Method::GET, &first_uri, None).await;
    assert_eq!(then.status, StatusCode::OK, "{}", then.text);
    assert_eq!(then.body["id"], "/g");
    assert_eq!(then.body["apps"][0]["id"], "/g/a");
    assert_eq!(then.body["apps"][0]["instances"], 2, "as it was then");
    let never = call(
        &s,
        Method::GET,
        "/v2/groups/g/versions/2001-01-01T00:00:00.000Z",
        None,
    )
    .await;
    assert_eq!(never.status, StatusCode::NOT_FOUND);
    assert_eq!(
        never.body["message"],
        "Group '/g' does not exist in version 2001-01-01T00:00:00.000Z"
    );
    let unknown = call(&s, Method::GET, "/v2/groups/nope/versions", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let rolled = call(
        &s,
        Method::PUT,
        "/v2/groups/g?force=true",
        Some(json!({"version": first_version})),
    )
    .await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.text);
    let a = call(&s, Method::GET, "/v2/apps/g/a", None).await.body;
    assert_eq!(a["app"]["instances"], 2, "back to the first version");

    let outside = call(
        &s,
        Method::PUT,
        "/v2/groups/g?force=true",
        Some(json!({"apps": [{"id": "/app", "cmd": "sleep 1"}]})),
    )
    .await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outside.body["details"][0]["path"], "/apps(0)/id");

    let deleted = call(&s, Method::DELETE, "/v2/groups/g?force=true", None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(
        call(&s, Method::GET, "/v2/apps/g/a", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, Method::GET, "/v2/groups/g", None).await.status,
        StatusCode::NOT_FOUND
    );
    let cyclic = call(
        &s,
        Method::PUT,
        "/v2/groups/c",
        Some(
            json!({"apps": [{"id": "x", "cmd": "sleep 1", "dependencies": ["/c/y"]},
                             {"id": "y", "cmd": "sleep 1", "dependencies": ["/c/x"]}]}),
        ),
    )
    .await;
    assert_eq!(cyclic.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_post_without_an_id_creates_the_path_and_an_app_path_conflicts() {
    let s = services();
    let created = call(
        &s,
        Method::POST,
        "/v2/groups/team/web",
        Some(json!({"apps": [{"id": "app", "cmd": "sleep 1"}]})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.headers["location"], "/v2/groups/team/web");
    let app = call(&s, Method::GET, "/v2/apps/team/web/app", None).await;
    assert_eq!(app.status, StatusCode::OK);
    let over_app = call(
        &s,
        Method::POST,
        "/v2/groups",
        Some(json!({"id": "/team/web/app"})),
    )
    .await;
    assert_eq!(over_app.status, StatusCode::CONFLICT);
    assert_eq!(
        over_app.body["message"],
        "An app with the path /team/web/app already exists."
    );
    // A group named like the versions path is a group, not a list of versions.
    let named = call(&s, Method::PUT, "/v2/groups/myversions", Some(json!({}))).await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.text);
    let shown = call(&s, Method::GET, "/v2/groups/myversions", None).await;
    assert_eq!(shown.body["id"], "/myversions");
    // A locked app refuses a group change without force.
    let locked = call(
        &s,
        Method::PUT,
        "/v2/groups/team",
        Some(json!({"scaleBy": 2})),
    )
    .await;
    assert_eq!(locked.status, StatusCode::CONFLICT, "{}", locked.text);
    let forced = call(
        &s,
        Method::PUT,
        "/v2/groups/team?force=true",
        Some(json!({"scaleBy": 2})),
    )
    .await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.text);
}
