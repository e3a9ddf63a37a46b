//! Deployments with real processes: a creation steps through StartApplication and
//! ScaleApplication, a restart replaces every task within the upgrade strategy, a deployment
//! that cannot finish is rolled back (its tasks kept) by `DELETE /v2/deployments/{id}`, and a
//! deployment in progress survives a restart of the services process and finishes after it.

use corral_e2e::services::task_ids;
use corral_e2e::{Cluster, eventually};
use reqwest::Method;
use serde_json::json;

const RESOURCES: &str = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_restart_and_roll_back_with_the_counts_at_each_step() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(RESOURCES, &[]).await;
    let services = cluster.start_services(&[]).await;
    let app = json!({"id": "/steps", "cmd": "sleep 1000", "instances": 2, "cpus": 0.1, "mem": 16});

    // Create: StartApplication, then ScaleApplication.
    let created = services.call(Method::POST, "/v2/apps", Some(&app)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let version = created.body["version"]
        .as_str()
        .expect("version")
        .to_string();
    let listed = services.deployments().await;
    if let Some(d) = listed.first() {
        assert_eq!(d["totalSteps"], 2);
        assert_eq!(d["steps"][0]["actions"][0]["action"], "StartApplication");
        assert_eq!(d["steps"][1]["actions"][0]["action"], "ScaleApplication");
    }
    let first = task_ids(&services.settled("/steps", 2, Some(&version)).await);

    // Restart: a RestartApplication step; never more than 4 tasks (2 x (1 + 1)), and every
    // task replaced by one of the new version.
    let restarted = services
        .call(Method::POST, "/v2/apps/steps/restart", None)
        .await;
    assert_eq!(restarted.status, 200, "{}", restarted.body);
    let new_version = restarted.body["version"].as_str().expect("v").to_string();
    let deployment = restarted.body["deploymentId"]
        .as_str()
        .expect("id")
        .to_string();
    let seen = services.deployments().await;
    if let Some(d) = seen.iter().find(|d| d["id"] == deployment.as_str()) {
        assert_eq!(
            d["steps"],
            json!([{"actions": [{"action": "RestartApplication", "app": "/steps"}]}])
        );
    }
    let replaced = eventually(90, "the restart to replace both tasks", || {
        let services = &services;
        let new_version = new_version.clone();
        async move {
            let tasks = services.tasks_of("/steps").await;
            assert!(tasks.len() <= 4, "over capacity: {}", tasks.len());
            let done = tasks.len() == 2
                && tasks
                    .iter()
                    .all(|t| t["version"] == new_version.as_str() && t["state"] == "TASK_RUNNING")
                && services.deployments().await.is_empty();
            done.then(|| task_ids(&tasks))
        }
    })
    .await;
    assert!(replaced.is_disjoint(&first), "every task was replaced");
    let shown = services.get("/v2/apps/steps").await.body;
    assert_eq!(shown["app"]["tasksRunning"], 2);

    // A change that cannot be placed: the deployment stays, the old tasks keep running.
    let stuck = services
        .call(Method::PUT, "/v2/apps/steps", Some(&json!({"cpus": 64})))
        .await;
    assert_eq!(stuck.status, 200, "{}", stuck.body);
    let stuck_id = stuck.body["deploymentId"].as_str().expect("id").to_string();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let listed = services.deployments().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], stuck_id.as_str());
    assert_eq!(
        listed[0]["currentActions"][0]["action"],
        "RestartApplication"
    );
    assert_eq!(task_ids(&services.tasks_of("/steps").await), replaced);

    // Rolled back: a new deployment restores the app; its tasks are kept, none is replaced.
    let rolled = services
        .call(Method::DELETE, &format!("/v2/deployments/{stuck_id}"), None)
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert!(rolled.body["deploymentId"].is_string());
    let kept = task_ids(&services.settled("/steps", 2, None).await);
    assert_eq!(kept, replaced, "the rollback kept the running tasks");
    let shown = services.get("/v2/apps/steps").await.body;
    assert_eq!(shown["app"]["cpus"], 0.1);

    // Force-stopping a deployment: 202, and it is gone.
    let stuck = services
        .call(Method::PUT, "/v2/apps/steps", Some(&json!({"cpus": 64})))
        .await;
    let stuck_id = stuck.body["deploymentId"].as_str().expect("id").to_string();
    let stopped = services
        .call(
            Method::DELETE,
            &format!("/v2/deployments/{stuck_id}?force=true"),
            None,
        )
        .await;
    assert_eq!(stopped.status, 202);
    assert!(services.deployments().await.is_empty());
    assert_eq!(task_ids(&services.tasks_of("/steps").await), replaced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_in_progress_survives_a_services_restart() {
    let mut cluster = Cluster::master(&[]).await;
    // Room for two tasks only.
    cluster
        .add_agent("cpus:0.2;mem:1024;disk:1024;ports:[31000-31099]", &[])
        .await;
    let mut services = cluster.start_services(&[]).await;
    let app = json!({"id": "/later", "cmd": "sleep 1000", "instances": 3, "cpus": 0.1, "mem": 16});
    let created = services.call(Method::POST, "/v2/apps", Some(&app)).await;
    assert_eq!(created.status, 201);
    let deployment = created.body["deployments"][0]["id"].clone();
    eventually(60, "two tasks running", || {
        let services = &services;
        async move {
            let tasks = services.tasks_of("/later").await;
            (tasks
                .iter()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .count()
                == 2)
                .then_some(())
        }
    })
    .await;
    let before = services.deployments().await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["id"], deployment);
    assert_eq!(before[0]["currentStep"], 2, "in its scale step");

    services.restart().await;
    let after = services.deployments().await;
    assert_eq!(after.len(), 1, "the deployment is kept");
    assert_eq!(after[0]["id"], deployment);
    assert_eq!(after[0]["currentStep"], 2);

    // More room: the deployment finishes under the restarted process.
    cluster
        .add_agent("cpus:1;mem:1024;disk:1024;ports:[31100-31199]", &[])
        .await;
    services.settled("/later", 3, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_deploys_an_app_after_the_app_it_depends_on() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:2;mem:2048;disk:1024;ports:[33600-33699]", &[])
        .await;
    let services = cluster.start_services(&[]).await;
    let events = services.subscribe("?event_type=status_update_event").await;
    let group = json!({"id": "/stack", "apps": [
        {"id": "web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 2,
         "dependencies": ["/stack/db"]},
        {"id": "db", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16}]});
    let created = services
        .call(Method::POST, "/v2/groups", Some(&group))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    services.settled("/stack/web", 2, None).await;
    // The event stream may trail the API a moment: wait for web's RUNNING on it.
    let updates = eventually(30, "web's TASK_RUNNING on the event stream", || {
        let events = &events;
        async move {
            let updates = events.of_type("status_update_event");
            updates
                .iter()
                .any(|e| e["appId"] == "/stack/web" && e["taskStatus"] == "TASK_RUNNING")
                .then_some(updates)
        }
    })
    .await;
    let first_of = |app: &str, state: &str| {
        updates
            .iter()
            .position(|e| e["appId"] == app && e["taskStatus"] == state)
    };
    let db_running = first_of("/stack/db", "TASK_RUNNING").expect("db ran");
    let web_first = updates
        .iter()
        .position(|e| e["appId"] == "/stack/web")
        .expect("web ran");
    assert!(db_running < web_first, "db runs before web starts");
    let tree = services.get("/v2/groups/stack").await.body;
    assert_eq!(tree["apps"].as_array().map(Vec::len), Some(2));
    let removed = services
        .call(Method::DELETE, "/v2/groups/stack", None)
        .await;
    assert_eq!(removed.status, 200);
    eventually(60, "the group's tasks to end", || {
        let services = &services;
        async move { services.deployments().await.is_empty().then_some(()) }
    })
    .await;
    assert!(
        services.get("/v2/tasks").await.body["tasks"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    assert!(first_of("/stack/web", "TASK_RUNNING").is_some());
}
