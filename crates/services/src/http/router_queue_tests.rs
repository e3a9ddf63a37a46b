//! `/v2/queue`, `POST /v2/tasks/delete` and `/metrics` through the router.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::tests::{call, keys, services, with_task};
use crate::scheduler::backoff::Delay;

#[tokio::test]
async fn waiting_apps_are_queued_with_their_delay_until_it_is_reset() {
    let s = services();
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/q", "cmd": "sleep 1", "instances": 3})),
    )
    .await;
    // Past its start step, the app waits for three tasks.
    {
        let mut world = s.world.lock().await;
        crate::deployments::progress::advance(&mut world);
    }
    let queue = call(&s, Method::GET, "/v2/queue?embed=lastUnusedOffers", None).await;
    assert_eq!(queue.status, StatusCode::OK);
    let item = &queue.body["queue"][0];
    assert_eq!(
        keys(item),
        [
            "app",
            "count",
            "delay",
            "lastUnusedOffers",
            "processedOffersSummary",
            "since"
        ]
    );
    assert_eq!(item["app"]["id"], "/q");
    assert_eq!(item["count"], 3);
    assert_eq!(
        item["delay"],
        json!({"timeLeftSeconds": 0, "overdue": true})
    );
    assert_eq!(item["processedOffersSummary"]["processedOffersCount"], 0);

    {
        let mut world = s.world.lock().await;
        let app = world.apps["/q"].clone();
        world
            .delays
            .insert("/q".into(), Delay::first(&app, crate::time::now_ms()));
    }
    let queue = call(&s, Method::GET, "/v2/queue", None).await.body;
    assert_eq!(queue["queue"][0]["delay"]["overdue"], false);
    assert_eq!(queue["queue"][0]["delay"]["timeLeftSeconds"], 1);
    let reset = call(&s, Method::DELETE, "/v2/queue/q/delay", None).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert!(s.world.lock().await.delays.is_empty());
    let unknown = call(&s, Method::DELETE, "/v2/queue/nope/delay", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tasks_are_killed_by_id_and_kills_are_stored() {
    let s = services();
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/k", "cmd": "sleep 1", "instances": 1})),
    )
    .await;
    let task = with_task(&s, "/k").await;
    let killed = call(
        &s,
        Method::POST,
        "/v2/tasks/delete",
        Some(json!({"ids": [task.id, "unknown.1"]})),
    )
    .await;
    assert_eq!(killed.status, StatusCode::OK, "{}", killed.text);
    assert_eq!(killed.body["tasks"][0]["id"], task.id.as_str());
    let stored = s.store.load().await.expect("loads");
    assert!(
        stored
            .tasks
            .iter()
            .any(|t| t.id == task.id && t.kill_requested()),
        "the kill is in the store"
    );
    let invalid = call(
        &s,
        Method::POST,
        "/v2/tasks/delete",
        Some(json!({"ids": ["nodots"]})),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.body["message"], "Invalid task id 'nodots'.");
    let both = call(
        &s,
        Method::POST,
        "/v2/tasks/delete?scale=true&wipe=true",
        Some(json!({"ids": []})),
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metrics_are_marathons_dropwizard_json() {
    let s = services();
    call(
        &s,
        Method::POST,
        "/v2/apps",
        Some(json!({"id": "/m/n", "cmd": "sleep 1"})),
    )
    .await;
    with_task(&s, "/m/n").await;
    let metrics = call(&s, Method::GET, "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        keys(&metrics.body),
        [
            "counters",
            "gauges",
            "histograms",
            "meters",
            "timers",
            "version"
        ]
    );
    let gauges = &metrics.body["gauges"];
    assert_eq!(
        gauges["service.mesosphere.marathon.app.count"],
        json!({"value": 1})
    );
    assert_eq!(
        gauges["service.mesosphere.marathon.group.count"]["value"], 1,
        "/m"
    );
    assert_eq!(
        gauges["service.mesosphere.marathon.task.running.count"]["value"],
        1
    );
    assert_eq!(
        gauges["service.mesosphere.marathon.task.staged.count"]["value"],
        0
    );
    assert!(gauges["service.mesosphere.marathon.uptime"]["value"].is_u64());
}

#[tokio::test]
async fn killing_tasks_of_two_apps_with_scale_is_one_deployment() {
    let s = services();
    for id in ["/s1", "/s2"] {
        call(
            &s,
            Method::POST,
            "/v2/apps",
            Some(json!({"id": id, "cmd": "sleep 1", "instances": 2})),
        )
        .await;
    }
    let one = with_task(&s, "/s1").await;
    let two = with_task(&s, "/s2").await;
    let scaled = call(
        &s,
        Method::POST,
        "/v2/tasks/delete?scale=true&force=true",
        Some(json!({"ids": [one.id, two.id]})),
    )
    .await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.text);
    assert_eq!(keys(&scaled.body), ["deploymentId", "version"]);
    for id in ["s1", "s2"] {
        let app = call(&s, Method::GET, &format!("/v2/apps/{id}"), None)
            .await
            .body;
        assert_eq!(app["app"]["instances"], 1, "{id}");
    }
    let deployments = call(&s, Method::GET, "/v2/deployments", None).await.body;
    let scaling: Vec<&serde_json::Value> = deployments
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["id"] == scaled.body["deploymentId"])
        .collect();
    assert_eq!(scaling.len(), 1);
    assert_eq!(scaling[0]["affectedApps"], json!(["/s1", "/s2"]));
}
