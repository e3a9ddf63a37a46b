//! Health checks with real processes: a Marathon-side HTTP check passes against a real web
//! server and a TCP check that fails gets its task killed and replaced; Mesos-side COMMAND
//! checks run by the agent's executor make a task healthy, or get it killed; and a rolling
//! restart gated on health stays within its upgrade strategy at every event of `/v2/events`.

use std::collections::BTreeSet;

use corral_e2e::services::task_ids;
use corral_e2e::{Cluster, eventually};
use reqwest::Method;
use serde_json::{Value, json};

/// Each test its own port range: the tests run at once, and a web server needs its port.
fn resources(ports: &str) -> String {
    format!("cpus:4;mem:4096;disk:1024;ports:[{ports}]")
}

async fn app(services: &corral_e2e::Services, id: &str) -> Value {
    services.get(&format!("/v2/apps{id}")).await.body["app"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_side_checks_pass_or_get_a_task_replaced() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(&resources("32100-32199"), &[]).await;
    let services = cluster.start_services(&[]).await;

    // A real web server on its port: HTTP checks pass.
    let web = json!({"id": "/web", "cmd": "exec timeout 120 python3 -m http.server $PORT0 --bind 127.0.0.1",
        "instances": 1, "cpus": 0.1, "mem": 64, "portDefinitions": [{"port": 0}],
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0,
            "gracePeriodSeconds": 30, "intervalSeconds": 1, "timeoutSeconds": 2}]});
    let created = services.call(Method::POST, "/v2/apps", Some(&web)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Healthy, and so deployed (the deployment ends at the driver's next look, a moment
    // after the health result is recorded).
    eventually(60, "the web task to be healthy and deployed", || {
        let services = &services;
        async move {
            (app(services, "/web").await["tasksHealthy"] == 1
                && services.deployments().await.is_empty())
            .then_some(())
        }
    })
    .await;
    let tasks = services.tasks_of("/web").await;
    let result = &tasks[0]["healthCheckResults"][0];
    assert_eq!(result["alive"], true);
    assert_eq!(result["instanceId"], tasks[0]["id"]);

    // Nothing listens: a TCP check fails twice and the task is replaced.
    let deaf = json!({"id": "/deaf", "cmd": "sleep 1000", "instances": 1, "cpus": 0.1,
        "mem": 16, "portDefinitions": [{"port": 0}],
        "healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 0,
            "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 2}]});
    let created = services.call(Method::POST, "/v2/apps", Some(&deaf)).await;
    assert_eq!(created.status, 201);
    let first = eventually(60, "a deaf task", || {
        let services = &services;
        async move {
            task_ids(&services.tasks_of("/deaf").await)
                .into_iter()
                .next()
        }
    })
    .await;
    eventually(60, "the deaf task to be replaced", || {
        let services = &services;
        let first = first.clone();
        async move {
            let ids = task_ids(&services.tasks_of("/deaf").await);
            (!ids.is_empty() && !ids.contains(&first)).then_some(())
        }
    })
    .await;
    let shown = app(&services, "/deaf").await;
    assert_eq!(shown["tasksHealthy"], 0);
    // The web server must not outlive the test on its port.
    services.remove("/web").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_command_checks_run_on_the_agent() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(&resources("32200-32299"), &[]).await;
    let services = cluster.start_services(&[]).await;
    let check = |command: &str| {
        json!([{"protocol": "COMMAND", "command": {"value": command}, "delaySeconds": 0,
                "gracePeriodSeconds": 0, "intervalSeconds": 1, "timeoutSeconds": 5,
                "maxConsecutiveFailures": 1}])
    };
    let good = json!({"id": "/good", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
        "healthChecks": check("test -n \"$MARATHON_APP_ID\"")});
    assert_eq!(
        services
            .call(Method::POST, "/v2/apps", Some(&good))
            .await
            .status,
        201
    );
    eventually(60, "the agent to report the task healthy", || {
        let services = &services;
        async move { (app(services, "/good").await["tasksHealthy"] == 1).then_some(()) }
    })
    .await;

    let bad = json!({"id": "/bad", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
        "healthChecks": check("false")});
    assert_eq!(
        services
            .call(Method::POST, "/v2/apps", Some(&bad))
            .await
            .status,
        201
    );
    let seen = std::sync::Mutex::new(BTreeSet::new());
    eventually(
        90,
        "the failing task killed by its executor and replaced",
        || {
            let services = &services;
            let seen = &seen;
            async move {
                let ids = task_ids(&services.tasks_of("/bad").await);
                let mut seen = seen.lock().ok()?;
                seen.extend(ids);
                (seen.len() >= 2).then_some(())
            }
        },
    )
    .await;
    let failure = app(&services, "/bad").await["lastTaskFailure"].clone();
    assert!(failure["taskId"].is_string(), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_stays_within_its_strategy_at_every_event() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent(&resources("32300-32399"), &[]).await;
    let services = cluster.start_services(&[]).await;
    // 4 instances at (0.5, 0.25): at least 2 healthy, at most 5 tasks.
    let definition = json!({"id": "/roll", "cmd": "sleep 1000", "instances": 4, "cpus": 0.1,
        "mem": 16,
        "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.25},
        "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}, "delaySeconds": 0,
            "gracePeriodSeconds": 5, "intervalSeconds": 1, "timeoutSeconds": 5}]});
    assert_eq!(
        services
            .call(Method::POST, "/v2/apps", Some(&definition))
            .await
            .status,
        201
    );
    eventually(90, "4 healthy tasks", || {
        let services = &services;
        async move {
            let shown = app(services, "/roll").await;
            (shown["tasksHealthy"] == 4 && services.deployments().await.is_empty()).then_some(())
        }
    })
    .await;
    let before = task_ids(&services.tasks_of("/roll").await);

    let events = services.subscribe("").await;
    let restarted = services
        .call(Method::POST, "/v2/apps/roll/restart", None)
        .await;
    assert_eq!(restarted.status, 200);
    let deployment = restarted.body["deploymentId"].clone();
    eventually(120, "the restart to finish", || {
        let events = &events;
        let deployment = deployment.clone();
        async move {
            events
                .of_type("deployment_success")
                .iter()
                .any(|e| e["id"] == deployment)
                .then_some(())
        }
    })
    .await;

    // Replay the stream: the tasks alive (running or being killed) and the healthy ones.
    let mut alive: BTreeSet<String> = before.clone();
    let mut healthy: BTreeSet<String> = before.clone();
    let mut most = alive.len();
    let mut fewest_healthy = healthy.len();
    for (kind, event) in events.events() {
        match kind.as_str() {
            "status_update_event" => {
                let id = event["taskId"].as_str().unwrap_or_default().to_string();
                match event["taskStatus"].as_str().unwrap_or_default() {
                    "TASK_STAGING" | "TASK_STARTING" | "TASK_RUNNING" => {
                        alive.insert(id);
                    }
                    "TASK_KILLING" => {
                        healthy.remove(&id);
                    }
                    _ => {
                        alive.remove(&id);
                        healthy.remove(&id);
                    }
                }
            }
            "health_status_changed_event" => {
                let id = event["instanceId"].as_str().unwrap_or_default().to_string();
                if event["alive"] == true && alive.contains(&id) {
                    healthy.insert(id);
                } else {
                    healthy.remove(&id);
                }
            }
            _ => {}
        }
        most = most.max(alive.len());
        fewest_healthy = fewest_healthy.min(healthy.len());
    }
    let became_healthy = events
        .of_type("health_status_changed_event")
        .iter()
        .filter(|e| e["alive"] == true)
        .count();
    assert!(became_healthy >= 4, "the new tasks' health came as events");
    assert!(most <= 5, "{most} tasks at once, at most 5");
    assert!(fewest_healthy >= 2, "{fewest_healthy} healthy, at least 2");
    let after = services.settled("/roll", 4, None).await;
    assert!(task_ids(&after).is_disjoint(&before), "every task replaced");
    assert_eq!(app(&services, "/roll").await["tasksHealthy"], 4);
}
