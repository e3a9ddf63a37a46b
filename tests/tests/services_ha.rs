//! The services component through failures in the middle of a rolling restart, with real
//! processes: two `corral services` on one etcd store (one leads, the other proxies to it)
//! and the leader killed with -9; then two masters on etcd and the leading master killed.
//! Each time the deployment completes with the right number of tasks, no task started twice
//! and none killed but the ones the restart replaces.

use std::collections::BTreeSet;
use std::path::Path;

use corral_e2e::etcd_cluster::EtcdCluster;
use corral_e2e::services::{Services, task_ids};
use corral_e2e::{Cluster, HaCluster, eventually};
use reqwest::Method;
use serde_json::{Value, json};

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
fn starts(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// An app whose every start appends its task id to `starts_file`, replaced one task at a
/// time (each new one healthy before an old one goes). 32 MB: the memory limit counts the
/// page cache and the health check's processes too (8 MB was killed under a loaded suite).
fn app(starts_file: &Path) -> Value {
    json!({"id": "/ha", "instances": INSTANCES, "cpus": 0.05, "mem": 32,
        "cmd": format!("echo $MESOS_TASK_ID >> {}; sleep 1000", starts_file.display()),
        "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 0.25},
        "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}, "delaySeconds": 0,
            "gracePeriodSeconds": 5, "intervalSeconds": 1, "timeoutSeconds": 5}]})
}

/// Starts a rolling restart of `/ha` and waits until its first new task runs while the
/// deployment is still under way; returns the new version.
async fn restart_halfway(services: &Services) -> String {
    let changed = services
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
        let version = &version;
        async move {
            let tasks = services.tasks_of("/ha").await;
            let new = tasks
                .iter()
                .filter(|t| t["version"] == version.as_str() && t["state"] == "TASK_RUNNING")
                .count();
            (new >= 1 && !services.deployments().await.is_empty()).then_some(())
        }
    })
    .await;
    version
}

/// The deployment completed: `INSTANCES` running tasks of `version`, none of `old`; every
/// start is in the file once (a task launched twice, or a new one killed and replaced,
/// would add lines); and `master` runs those tasks and no others.
async fn assert_nothing_lost(
    services: &Services,
    master: &str,
    old: &BTreeSet<String>,
    version: &str,
    starts_file: &Path,
) {
    let tasks = services.settled("/ha", INSTANCES, Some(version)).await;
    let running = task_ids(&tasks);
    assert!(running.is_disjoint(old), "every old task was replaced");
    let started = starts(starts_file);
    let distinct: BTreeSet<String> = started.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        started.len(),
        "no task started twice: {started:?}"
    );
    assert_eq!(started.len(), 2 * INSTANCES, "{started:?}");
    assert!(running.iter().all(|id| distinct.contains(id)));
    let master_tasks = corral_e2e::operator(master, "GET_TASKS")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_leader_killed_mid_deployment_loses_nothing() {
    let etcd = EtcdCluster::start(1);
    let state = format!("{}/svc", etcd.state_url());
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:4;mem:4096;disk:1024;ports:[33700-33799]", &[])
        .await;
    // A lease far longer than the takeover below may take: only the follower's revoking
    // the dead leader's lease lets it lead that soon.
    let extra = ["--leader-lease", "30secs"];
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
    // Created through the follower: it lands on the leader.
    let created = following
        .call(Method::POST, "/v2/apps", Some(&app(&starts_file)))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let old = task_ids(&leading.settled("/ha", INSTANCES, None).await);
    let version = restart_halfway(&leading).await;
    leading.process.kill9();

    let new_leader = eventually(
        15,
        "the other instance to lead well before the 30 s lease ends",
        || {
            let following = &following;
            let leader = &leader;
            async move { leader_per(following).await.filter(|l| l != leader) }
        },
    )
    .await;
    assert_eq!(port_of(&new_leader), port_of(&following.addr));
    assert_nothing_lost(
        &following,
        &cluster.master_addr,
        &old,
        &version,
        &starts_file,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leading_master_killed_mid_deployment_loses_nothing() {
    let mut cluster =
        HaCluster::start(1, 2, 1, "cpus:4;mem:4096;disk:1024;ports:[33800-33899]").await;
    let leader = cluster.wait_leader(None, 30).await;
    let state = format!(
        "file://{}",
        cluster.dir.path().join("services.redb").display()
    );
    let services = Services::start(
        "services",
        &cluster.master_list(),
        &state,
        &[],
        cluster.dir.path(),
    )
    .await;
    let starts_file = cluster.dir.path().join("starts");
    let created = services
        .call(Method::POST, "/v2/apps", Some(&app(&starts_file)))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let old = task_ids(&services.settled("/ha", INSTANCES, None).await);
    let version = restart_halfway(&services).await;

    let index = cluster.master_index(&leader);
    cluster.masters[index].kill9();
    let new_leader = cluster.wait_leader(Some(&leader), 30).await;
    assert_nothing_lost(&services, &new_leader, &old, &version, &starts_file).await;
}
