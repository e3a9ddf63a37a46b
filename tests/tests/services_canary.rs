//! `upgradeStrategy.canary` (beyond Marathon) with real processes: a canary that fails, with
//! `autoRollback`, rolls its deployment back (the old tasks never stop, the old definition is
//! back, `deployment_failed` says it was rolled back); a healthy canary lets the rolling restart go on.

use corral_e2e::services::task_ids;
use corral_e2e::{Cluster, eventually};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_rolls_back_and_a_healthy_one_goes_on() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:2;mem:2048;disk:1024;ports:[34000-34099]", &[])
        .await;
    let services = cluster.start_services(&[]).await;
    let events = services.subscribe("?event_type=deployment_failed").await;
    let definition = json!({"id": "/can", "cmd": "sleep 1000", "instances": 2, "cpus": 0.05,
        "mem": 32, "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 0.5,
            "canary": 1, "canaryHealthySeconds": 1, "autoRollback": true}});
    let created = services
        .call(Method::POST, "/v2/apps", Some(&definition))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["upgradeStrategy"]["canary"], 1);
    assert_eq!(created.body["upgradeStrategy"]["autoRollback"], true);
    let old = task_ids(&services.settled("/can", 2, None).await);

    let failing = services
        .call(
            Method::PUT,
            "/v2/apps/can",
            Some(&json!({"cmd": "sleep 0.3; exit 1"})),
        )
        .await;
    assert_eq!(failing.status, 200, "{}", failing.body);
    let failed = eventually(60, "the failed canary's deployment_failed", || {
        let events = &events;
        async move { events.of_type("deployment_failed").first().cloned() }
    })
    .await;
    assert!(
        failed["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("rolled back by deployment")),
        "{failed}"
    );
    let back = services.settled("/can", 2, None).await;
    assert_eq!(task_ids(&back), old, "the old tasks never stopped");
    let app = services.get("/v2/apps/can").await.body;
    assert_eq!(
        app["app"]["cmd"], "sleep 1000",
        "the old definition is back"
    );

    let healthy = services
        .call(
            Method::PUT,
            "/v2/apps/can",
            Some(&json!({"env": {"V": "2"}})),
        )
        .await;
    assert_eq!(healthy.status, 200, "{}", healthy.body);
    let version = healthy.body["version"]
        .as_str()
        .expect("a version")
        .to_string();
    let new = task_ids(&services.settled("/can", 2, Some(&version)).await);
    assert!(
        new.is_disjoint(&old),
        "every task replaced once the canary passed"
    );
    assert_eq!(events.of_type("deployment_failed").len(), 1);

    // Left out of responses unless set.
    let plain = json!({"id": "/plain", "cmd": "sleep 1000", "cpus": 0.05, "mem": 32});
    let plain = services.call(Method::POST, "/v2/apps", Some(&plain)).await;
    assert_eq!(plain.status, 201);
    let strategy = plain.body["upgradeStrategy"]
        .as_object()
        .expect("a strategy");
    assert_eq!(
        strategy.keys().collect::<Vec<_>>(),
        ["maximumOverCapacity", "minimumHealthCapacity"]
    );
}
