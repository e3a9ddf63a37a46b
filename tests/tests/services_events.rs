//! `/v2/events` with real processes: a creation, its tasks starting, a scale and a deletion
//! come as Marathon's events (`event:` and one `data:` line each, with `eventType` and
//! `timestamp`), `event_type` filters, `plan-format=light` leaves the groups out, and a
//! request without `Accept: text/event-stream` is refused.

use corral_e2e::{Cluster, eventually};
use reqwest::Method;
use serde_json::json;

const RESOURCES: &str = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_delivers_marathons_events() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(RESOURCES, &[]).await;
    let services = cluster.start_services(&[]).await;

    let refused = corral_e2e::http_get(format!("http://{}/v2/events", services.addr))
        .await
        .expect("answer");
    assert_eq!(refused.status().as_u16(), 405);

    let all = services.subscribe("").await;
    let filtered = services
        .subscribe(
            "?event_type=deployment_success&event_type=app_terminated_event&plan-format=light",
        )
        .await;
    let app = json!({"id": "/ev", "cmd": "sleep 1000", "instances": 2, "cpus": 0.1, "mem": 16});
    let created = services.call(Method::POST, "/v2/apps", Some(&app)).await;
    assert_eq!(created.status, 201);
    let deployment = created.body["deployments"][0]["id"].clone();
    services.settled("/ev", 2, None).await;
    // group_change_success follows deployment_success, maybe in a later chunk.
    eventually(
        30,
        "the creation's deployment_success and group_change_success",
        || {
            let all = &all;
            let deployment = deployment.clone();
            async move {
                (all.of_type("deployment_success")
                    .iter()
                    .any(|e| e["id"] == deployment)
                    && !all.of_type("group_change_success").is_empty())
                .then_some(())
            }
        },
    )
    .await;
    let kinds: Vec<String> = all.events().into_iter().map(|(k, _)| k).collect();
    let first = |kind: &str| kinds.iter().position(|k| k == kind);
    for kind in [
        "event_stream_attached",
        "api_post_event",
        "deployment_info",
        "status_update_event",
        "instance_changed_event",
        "deployment_step_success",
        "deployment_success",
        "group_change_success",
    ] {
        assert!(first(kind).is_some(), "no {kind} in {kinds:?}");
    }
    assert!(first("api_post_event") < first("deployment_success"));
    assert!(first("deployment_info") < first("deployment_step_success"));
    let post = &all.of_type("api_post_event")[0];
    assert_eq!(post["appDefinition"]["id"], "/ev");
    assert_eq!(post["uri"], "/v2/apps");
    assert_eq!(post["clientIp"], "127.0.0.1");
    let running: Vec<_> = all
        .of_type("status_update_event")
        .into_iter()
        .filter(|e| e["taskStatus"] == "TASK_RUNNING")
        .collect();
    assert_eq!(running.len(), 2);
    assert_eq!(running[0]["appId"], "/ev");
    assert!(
        running[0]["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let info = &all.of_type("deployment_info")[0];
    assert_eq!(info["plan"]["id"], deployment);
    assert_eq!(info["plan"]["target"]["apps"][0]["id"], "/ev");
    assert_eq!(
        info["currentStep"]["actions"][0]["action"],
        "StartApplication"
    );

    let deleted = services.call(Method::DELETE, "/v2/apps/ev", None).await;
    assert_eq!(deleted.status, 200);
    eventually(60, "app_terminated_event", || {
        let filtered = &filtered;
        async move { (!filtered.of_type("app_terminated_event").is_empty()).then_some(()) }
    })
    .await;
    let kinds: Vec<String> = filtered.events().into_iter().map(|(k, _)| k).collect();
    assert!(
        kinds
            .iter()
            .all(|k| k == "deployment_success" || k == "app_terminated_event"),
        "only the asked types: {kinds:?}"
    );
    let success = &filtered.of_type("deployment_success")[0];
    assert!(success["plan"].get("original").is_none(), "light plans");
    assert!(success["plan"]["steps"].is_array());
}
