//! The services component (Marathon's REST API v2) with real processes: a master, an agent
//! and `corral services`. An app is deployed, scaled up and down, healed after its process is
//! killed, kept across a restart of the services process, and deleted; and the API's errors
//! are Marathon's.

use std::collections::BTreeSet;

use corral_e2e::{Cluster, Services, eventually};
use reqwest::Method;
use serde_json::{Value, json};

const RESOURCES: &str = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";
const APP: &str = "/e2e/sleeper";

/// The app's tasks as `GET /v2/apps/{id}?embed=apps.tasks` shows them: id to state.
async fn app_tasks(services: &Services) -> Vec<(String, String)> {
    let answer = services
        .get(&format!("/v2/apps{APP}?embed=apps.tasks"))
        .await;
    answer.body["app"]["tasks"]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .map(|t| {
                    (
                        t["id"].as_str().unwrap_or_default().to_string(),
                        t["state"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the app has exactly `n` tasks, all TASK_RUNNING, `tasksRunning` says so, and
/// no deployment is left; returns their ids.
async fn running(services: &Services, n: usize) -> BTreeSet<String> {
    eventually(60, &format!("{n} running tasks of {APP}"), || async move {
        let tasks = app_tasks(services).await;
        let app = services.get(&format!("/v2/apps{APP}")).await.body;
        let all_running = tasks.iter().all(|(_, state)| state == "TASK_RUNNING");
        let deployments = services.get("/v2/deployments").await.body;
        let settled = deployments.as_array().is_some_and(Vec::is_empty);
        (tasks.len() == n && all_running && app["app"]["tasksRunning"] == n && settled)
            .then(|| tasks.into_iter().map(|(id, _)| id).collect())
    })
    .await
}

/// The tasks of the framework `marathon` the master has, not terminal: id to state.
async fn master_tasks(master: &str) -> Vec<(String, String)> {
    framework_tasks(master, &["tasks"]).await
}

/// Every task the master has seen of the framework `marathon`, ended ones included.
async fn master_task_ids_ever(master: &str) -> BTreeSet<String> {
    framework_tasks(master, &["tasks", "completed_tasks"])
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// The framework `marathon`'s tasks in the GET_TASKS `lists`: id to state.
async fn framework_tasks(master: &str, lists: &[&str]) -> Vec<(String, String)> {
    let Ok(frameworks) = corral_e2e::operator(master, "GET_FRAMEWORKS").await else {
        return Vec::new();
    };
    let ids: BTreeSet<String> = frameworks["get_frameworks"]["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["framework_info"]["name"] == "marathon")
        .filter_map(|f| {
            f["framework_info"]["id"]["value"]
                .as_str()
                .map(String::from)
        })
        .collect();
    let Ok(tasks) = corral_e2e::operator(master, "GET_TASKS").await else {
        return Vec::new();
    };
    lists
        .iter()
        .filter_map(|list| tasks["get_tasks"][*list].as_array())
        .flatten()
        .filter(|t| {
            t["framework_id"]["value"]
                .as_str()
                .is_some_and(|id| ids.contains(id))
        })
        .map(|t| {
            (
                t["task_id"]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                t["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn master_running(master: &str) -> BTreeSet<String> {
    master_tasks(master)
        .await
        .into_iter()
        .filter(|(_, state)| state == "TASK_RUNNING")
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_is_deployed_scaled_healed_kept_across_a_restart_and_deleted() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(RESOURCES, &[]).await;
    let mut services = cluster.start_services(&[]).await;
    let master = cluster.master_addr.clone();

    // Deploy two instances.
    let app = json!({
        "id": APP,
        "cmd": "exec sleep 1000",
        "instances": 2,
        "cpus": 0.1,
        "mem": 32,
    });
    let created = services.call(Method::POST, "/v2/apps", Some(&app)).await;
    assert_eq!(created.status, 201, "{}\n{}", created.body, cluster.logs());
    assert_eq!(created.headers["location"], "/v2/apps/e2e/sleeper");
    assert!(created.body["deployments"][0]["id"].is_string());
    let two = running(&services, 2).await;
    for id in &two {
        assert!(
            id.starts_with("e2e_sleeper."),
            "Marathon's task id format: {id}"
        );
    }
    eventually(30, "the master to run both tasks", || {
        let master = master.clone();
        let two = two.clone();
        async move { (master_running(&master).await == two).then_some(()) }
    })
    .await;

    // Scale to 3, then to 1.
    let scaled = services
        .call(
            Method::PUT,
            &format!("/v2/apps{APP}"),
            Some(&json!({"instances": 3})),
        )
        .await;
    assert_eq!(scaled.status, 200, "{}", scaled.body);
    let three = running(&services, 3).await;
    assert!(two.is_subset(&three), "scaling up keeps the running tasks");
    let down = services
        .call(
            Method::PATCH,
            &format!("/v2/apps{APP}"),
            Some(&json!({"instances": 1})),
        )
        .await;
    assert_eq!(down.status, 200, "{}", down.body);
    let one = running(&services, 1).await;
    assert!(one.is_subset(&three));
    eventually(30, "the master to keep one task", || {
        let master = master.clone();
        let one = one.clone();
        async move { (master_running(&master).await == one).then_some(()) }
    })
    .await;

    // kill -9 the task's process: it fails and is replaced.
    let victim = one.iter().next().expect("a task").clone();
    let pid = corral_e2e::task_processes::await_task_pid(&victim, 30).await;
    corral_e2e::signal(u32::try_from(pid).expect("pid"), libc::SIGKILL);
    let healed = eventually(60, "a replacement task", || {
        let services = &services;
        let victim = victim.clone();
        async move {
            let tasks = app_tasks(services).await;
            let replaced = tasks.len() == 1 && tasks[0].0 != victim && tasks[0].1 == "TASK_RUNNING";
            replaced.then(|| tasks[0].0.clone())
        }
    })
    .await;
    let app_json = services.get(&format!("/v2/apps{APP}")).await.body;
    assert_eq!(
        app_json["app"]["lastTaskFailure"]["taskId"],
        victim.as_str()
    );
    assert_eq!(app_json["app"]["lastTaskFailure"]["state"], "TASK_FAILED");

    // Restart the services process: the task is kept (same id), nothing is launched twice.
    let launched_before = master_task_ids_ever(&master).await;
    services.restart().await;
    let kept = running(&services, 1).await;
    assert_eq!(kept, BTreeSet::from([healed.clone()]), "{}", cluster.logs());
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(running(&services, 1).await, kept);
    let master_view = master_tasks(&master).await;
    assert_eq!(
        master_view,
        vec![(healed.clone(), "TASK_RUNNING".to_string())],
        "the master runs the same single task"
    );
    assert_eq!(
        master_task_ids_ever(&master).await,
        launched_before,
        "no task was launched after the restart"
    );

    // Delete: every task goes and none comes back.
    let deleted = services
        .call(Method::DELETE, &format!("/v2/apps{APP}"), None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    eventually(60, "no task left", || {
        let services = &services;
        let master = master.clone();
        async move {
            let tasks = services.get("/v2/tasks").await.body;
            let none_here = tasks["tasks"].as_array().is_some_and(Vec::is_empty);
            let none_there = master_tasks(&master).await.is_empty();
            (none_here && none_there).then_some(())
        }
    })
    .await;
    let gone = services.get(&format!("/v2/apps{APP}")).await;
    assert_eq!(gone.status, 404);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(master_tasks(&master).await.is_empty(), "nothing restarted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_marathons_422_404_and_409() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(RESOURCES, &[]).await;
    let services = cluster.start_services(&[]).await;

    let invalid = services
        .call(
            Method::POST,
            "/v2/apps",
            Some(&json!({"id": "/bad", "cmd": "sleep 1", "cpus": -1, "instances": "two"})),
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.body["message"], "Object is not valid");
    let paths: Vec<&str> = invalid.body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(paths, ["/cpus", "/instances"]);
    let docker = services
        .call(
            Method::POST,
            "/v2/apps",
            Some(&json!({"id": "/web", "container": {"type": "DOCKER", "docker": {"image": "nginx"}}})),
        )
        .await;
    assert_eq!(docker.status, 422);
    assert!(
        docker
            .body
            .to_string()
            .contains("images are not supported yet")
    );

    let missing = services.get("/v2/apps/nothing/here").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"message": "App '/nothing/here' does not exist"})
    );

    // An app that cannot be placed keeps its deployment, which locks it.
    let big = services
        .call(
            Method::POST,
            "/v2/apps",
            Some(&json!({"id": "/big", "cmd": "sleep 1000", "cpus": 64})),
        )
        .await;
    assert_eq!(big.status, 201);
    let deployment = big.body["deployments"][0]["id"].clone();
    let locked = services
        .call(Method::PUT, "/v2/apps/big", Some(&json!({"cpus": 32})))
        .await;
    assert_eq!(locked.status, 409);
    assert_eq!(
        locked.body["message"],
        "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'."
    );
    assert_eq!(locked.body["deployments"], json!([{"id": deployment}]));
    let listed = services.get("/v2/deployments").await.body;
    assert_eq!(listed[0]["id"], deployment);
    let forced = services
        .call(
            Method::PUT,
            "/v2/apps/big?force=True",
            Some(&json!({"cpus": 0.1, "mem": 16})),
        )
        .await;
    assert_eq!(forced.status, 200, "{}", forced.body);
    assert!(forced.body["deploymentId"].is_string());
    // The framework id once the services framework has subscribed (in the background).
    let info: Value = eventually(30, "a frameworkId in /v2/info", || {
        let services = &services;
        async move {
            let info = services.get("/v2/info").await.body;
            info["frameworkId"].is_string().then_some(info)
        }
    })
    .await;
    assert_eq!(info["name"], "marathon");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corral_dev_serves_the_marathon_api() {
    let port = corral_e2e::free_port();
    let cluster = Cluster::dev_with(RESOURCES, &["--services-port", &port.to_string()]).await;
    let addr = format!("127.0.0.1:{port}");
    eventually(30, "the dev services API", || {
        let addr = addr.clone();
        async move {
            let text = corral_e2e::http_get(format!("http://{addr}/ping"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (text == "pong").then_some(())
        }
    })
    .await;
    let client = corral_e2e::http_client();
    let created = client
        .post(format!("http://{addr}/v2/apps"))
        .json(&json!({"id": "/dev-app", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16}))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status().as_u16(), 201);
    eventually(60, "the dev app to run", || {
        let client = client.clone();
        let addr = addr.clone();
        async move {
            let app: Value = client
                .get(format!("http://{addr}/v2/apps/dev-app"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (app["app"]["tasksRunning"] == 1).then_some(())
        }
    })
    .await;
    assert!(
        cluster
            .master
            .log_text()
            .contains(&format!("Marathon API on http://127.0.0.1:{port}")),
        "dev prints the services URL"
    );
}
