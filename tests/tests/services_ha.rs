//! Two `corral services` on one etcd store: one leads, the other answers by proxying to it;
//! the leader killed with -9 in the middle of a rolling restart: the other one takes over
//! and the deployment completes with the right number of tasks, no task started twice and
//! none killed but the ones the restart replaces.

use std::collections::BTreeSet;

use corral_e2e::etcd_cluster::EtcdCluster;
use corral_e2e::services::{Services, task_ids};
use corral_e2e::{Cluster, eventually};
use reqwest::Method;
use serde_json::json;

const INSTANCES: usize = 4;

/// The `host:port` that `services` names as leader.
async fn leader_per(services: &Services) -> Option<String> {
    let answer = services.get("/v2/leader").await;
    (answer.status == 200)
        .then(|| answer.body["leader"].as_str().map(String::from))
        .flatten()
}

fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or_default()
}

/// The task ids the app's command wrote at each start.
fn starts(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_leader_killed_mid_deployment_loses_nothing() {
    let etcd = EtcdCluster::start(1);
    let state = format!("{}/svc", etcd.state_url());
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:4;mem:4096;disk:1024;ports:[33700-33799]", &[])
        .await;
    let extra = ["--leader-lease", "2secs"];
    let first = cluster
        .start_services_named("services-a", &state, &extra)
        .await;
    let leader = eventually(30, "a services leader", || leader_per(&first)).await;
    let second = cluster
        .start_services_named("services-b", &state, &extra)
        .await;
    let (mut leading, following) = if port_of(&leader) == port_of(&first.addr) {
        (first, second)
    } else {
        (second, first)
    };
    // The follower answers through the leader, as Marathon's proxy does.
    let through = eventually(30, "the follower to proxy to the leader", || {
        let following = &following;
        async move {
            let answer = following.get("/v2/leader").await;
            (answer.status == 200).then_some(answer)
        }
    })
    .await;
    assert_eq!(through.body["leader"], leader.as_str());
    assert!(through.headers.contains_key("x-marathon-via"));
    assert!(
        leading
            .get("/v2/apps")
            .await
            .headers
            .contains_key("x-marathon-leader")
    );

    let starts_file = cluster.dir.path().join("starts");
    let definition = json!({"id": "/ha", "instances": INSTANCES, "cpus": 0.05, "mem": 8,
        "cmd": format!("echo $MESOS_TASK_ID >> {}; sleep 1000", starts_file.display()),
        "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 0.25},
        "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}, "delaySeconds": 0,
            "gracePeriodSeconds": 5, "intervalSeconds": 1, "timeoutSeconds": 5}]});
    // Created through the follower: it lands on the leader.
    let created = following
        .call(Method::POST, "/v2/apps", Some(&definition))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let old = task_ids(&leading.settled("/ha", INSTANCES, None).await);

    // A rolling restart, one task at a time, each waiting to be healthy.
    let changed = leading
        .call(
            Method::PUT,
            "/v2/apps/ha",
            Some(&json!({"env": {"V": "2"}})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let version = changed.body["version"]
        .as_str()
        .expect("a version")
        .to_string();
    eventually(60, "a first task of the new version to run", || {
        let leading = &leading;
        let version = &version;
        async move {
            let tasks = leading.tasks_of("/ha").await;
            let new = tasks
                .iter()
                .filter(|t| t["version"] == version.as_str() && t["state"] == "TASK_RUNNING")
                .count();
            (new >= 1 && !leading.deployments().await.is_empty()).then_some(())
        }
    })
    .await;
    leading.process.kill9();

    let new_leader = eventually(60, "the other instance to lead", || {
        let following = &following;
        let leader = &leader;
        async move { leader_per(following).await.filter(|l| l != leader) }
    })
    .await;
    assert_eq!(port_of(&new_leader), port_of(&following.addr));
    let tasks = following.settled("/ha", INSTANCES, Some(&version)).await;
    let running = task_ids(&tasks);
    assert!(running.is_disjoint(&old), "every old task was replaced");

    // Every start is in the file: the old tasks and exactly one per new task. A task
    // launched twice, or a new one killed and replaced, would add lines.
    let started = starts(&starts_file);
    let distinct: BTreeSet<String> = started.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        started.len(),
        "no task started twice: {started:?}"
    );
    assert_eq!(started.len(), 2 * INSTANCES, "{started:?}");
    assert!(running.iter().all(|id| distinct.contains(id)));
    // The master runs those tasks and no others of the services framework.
    let master_tasks = corral_e2e::operator(&cluster.master_addr, "GET_TASKS")
        .await
        .expect("GET_TASKS");
    let live: BTreeSet<String> = master_tasks["get_tasks"]["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "TASK_RUNNING")
        .filter_map(|t| t["task_id"]["value"].as_str().map(String::from))
        .collect();
    assert_eq!(live, running);
}
