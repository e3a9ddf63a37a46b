//! Chaos on a highly available cluster (real etcd members, masters and agents on loopback):
//! the leading master killed with -9, a leader paused until deposed, etcd losing members.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use corral_e2e::ha::active_agents;
use corral_e2e::{Framework, HaCluster, framework_info, scalar, signal, task};
use serde_json::{Value, json};

/// Launches `n` tasks of 0.1 cpu / 32 MiB over whatever is offered; each appends a line to
/// `starts/<id>` when it starts, so a task launched twice shows.
async fn launch_sleepers(fw: &mut Framework, n: usize, starts: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < n {
        for offer in fw.offers(20).await {
            let room = ((scalar(&offer, "cpus") + 1e-9) / 0.1).floor() as usize;
            let count = room.min(n - ids.len());
            let tasks: Vec<Value> = (ids.len()..ids.len() + count)
                .map(|i| {
                    let id = format!("sleeper-{i:02}");
                    let command =
                        format!("echo started >> {}/{id}; exec sleep 600", starts.display());
                    task(&id, &offer, &command, 0.1, 32.0)
                })
                .collect();
            for t in &tasks {
                ids.push(t["task_id"]["value"].as_str().expect("id").to_string());
            }
            assert_eq!(fw.launch(&offer, tasks, 300.0).await, 202);
            if ids.len() == n {
                break;
            }
        }
    }
    ids
}

/// Implicit reconciliation: the state of every task the master knows, by task id.
async fn reconcile_all(fw: &mut Framework, expected: usize) -> BTreeMap<String, String> {
    let (code, body) = fw
        .call(json!({"type": "RECONCILE", "reconcile": {"tasks": []}}))
        .await;
    assert_eq!(code, 202, "RECONCILE: {body}");
    let mut states = BTreeMap::new();
    while states.len() < expected {
        let Some(event) = fw.next_event(20).await else {
            panic!(
                "only {} of {expected} tasks reconciled: {states:?}",
                states.len()
            );
        };
        if event["type"] == "UPDATE" {
            let status = &event["update"]["status"];
            states.insert(
                status["task_id"]["value"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                status["state"].as_str().unwrap_or("").to_string(),
            );
        }
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_elects_another_and_loses_no_task() {
    let cluster = HaCluster::start(3, 3, 3, "cpus:2;mem:2048").await;
    let leader = cluster.wait_leader(None, 10).await;
    let starts = cluster.dir.path().join("starts");
    std::fs::create_dir_all(&starts).expect("starts dir");

    let info = framework_info(
        "ha-keeper",
        json!({"failover_timeout": 300.0, "capabilities": [{"type": "PARTITION_AWARE"}]}),
    );
    // Any master will do: a follower redirects to the leader.
    let follower = cluster
        .master_addrs
        .iter()
        .find(|a| **a != leader)
        .expect("a follower")
        .clone();
    let mut fw = Framework::subscribe(&follower, info.clone()).await;
    let ids = launch_sleepers(&mut fw, 30, &starts).await;
    let want: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "TASK_RUNNING")).collect();
    fw.task_states(&want, 90).await;
    let framework_id = fw.id.clone();
    drop(fw);

    let mut cluster = cluster;
    let old = cluster.master_index(&leader);
    cluster.masters[old].kill9();
    let new_leader = cluster.wait_leader(Some(&leader), 20).await;
    assert_ne!(new_leader, leader);
    cluster.wait_agents(&new_leader, 3, 30).await;

    let mut info = info;
    info["id"] = json!({"value": framework_id});
    let mut fw = Framework::subscribe(&new_leader, info).await;
    assert_eq!(fw.id, framework_id, "the framework keeps its id");
    let states = reconcile_all(&mut fw, 30).await;
    let running: BTreeSet<&String> = states
        .iter()
        .filter(|(_, s)| *s == "TASK_RUNNING")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        running.len(),
        30,
        "every task still runs: {states:?}\n{}",
        cluster.logs()
    );
    for id in &ids {
        let text = std::fs::read_to_string(starts.join(id)).unwrap_or_default();
        assert_eq!(text.lines().count(), 1, "{id} started once, not {text:?}");
    }

    // `corral` commands given every master (the dead one first) find the new leader.
    assert_eq!(
        agents_listed(&format!("{leader},{}", cluster.master_list())),
        3
    );

    // ... and so do they given the etcd cluster (`--master etcd://...`, the masters' --state).
    assert_eq!(agents_listed(&cluster.etcd.state_url()), 3);

    // The killed leader comes back as a follower and names the new leader.
    cluster.masters[old].restart();
    let leader_now = cluster.wait_leader(None, 20).await;
    assert_eq!(leader_now, new_leader, "the old leader follows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_deposed_and_follows_when_it_resumes() {
    let cluster = HaCluster::start(1, 2, 1, "cpus:1;mem:512").await;
    let leader = cluster.wait_leader(None, 10).await;
    let old = cluster.master_index(&leader);
    let pid = cluster.masters[old].pid();
    signal(pid, libc::SIGSTOP);
    let new_leader = cluster.wait_leader(Some(&leader), 20).await;
    // The agent's stream to the paused leader stays open (silent) until it resumes.
    signal(pid, libc::SIGCONT);

    // On waking it finds its lease gone (or its first write fenced off) and follows.
    corral_e2e::eventually(10, "the resumed master to follow", || {
        let leader = leader.clone();
        let new_leader = new_leader.clone();
        async move {
            (HaCluster::leader_per(&leader).await.as_deref() == Some(new_leader.as_str()))
                .then_some(())
        }
    })
    .await;
    corral_e2e::cluster::settle();
    let log = cluster.masters[old].log_text();
    assert!(log.contains("stopped leading"), "{log}");
    // It serves nothing itself: the scheduler API redirects to the new leader.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = http
        .post(format!("http://{leader}/api/v1/scheduler"))
        .json(&json!({"type": "SUBSCRIBE"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 307);
    assert_eq!(
        response.headers()["location"],
        format!("http://{new_leader}/api/v1/scheduler").as_str()
    );
    // Its streams were closed as it stepped down: the agent finds the new leader.
    cluster.wait_agents(&new_leader, 1, 30).await;
    tokio::time::sleep(Duration::from_secs(corral_e2e::ha::LEASE_SECS * 2)).await;
    assert_eq!(
        cluster.wait_leader(None, 5).await,
        new_leader,
        "no flapping"
    );
    assert_eq!(active_agents(&new_leader).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_etcd_quorum_stops_every_leader_until_it_returns() {
    let mut cluster = HaCluster::start(3, 2, 1, "cpus:1;mem:512").await;
    let leader = cluster.wait_leader(None, 10).await;

    // One member down: a majority remains and the leader keeps leading.
    cluster.etcd.kill9(2);
    tokio::time::sleep(Duration::from_secs(corral_e2e::ha::LEASE_SECS * 2)).await;
    assert_eq!(cluster.wait_leader(None, 10).await, leader);
    let fw = Framework::subscribe(&leader, framework_info("quorum", json!({}))).await;
    drop(fw);

    // Two down: no quorum, so no master may act as leader (no split brain).
    cluster.etcd.kill9(1);
    let addrs = cluster.master_addrs.clone();
    corral_e2e::eventually(15, "every master to stop leading", || {
        let addrs = addrs.clone();
        async move {
            for addr in &addrs {
                if HaCluster::leader_per(addr).await.is_some() {
                    return None;
                }
            }
            Some(())
        }
    })
    .await;
    let status = reqwest::Client::new()
        .post(format!("http://{leader}/api/v1"))
        .json(&json!({"type": "GET_AGENTS"}))
        .send()
        .await
        .expect("answer")
        .status();
    assert_eq!(status.as_u16(), 503, "the old leader serves nothing");

    // Quorum back: a leader again, and the agent finds it.
    cluster.etcd.restart(1);
    cluster.etcd.restart(2);
    let leader = cluster.wait_leader(None, 30).await;
    cluster.wait_agents(&leader, 1, 30).await;
}

/// How many agents `corral agents --master MASTER` lists (it must succeed).
fn agents_listed(master: &str) -> usize {
    let out = std::process::Command::new(corral_e2e::corral_bin())
        .args(["agents", "--json", "--master", master])
        .output()
        .expect("run corral agents");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_str(&stdout).expect("JSON");
    listed["get_agents"]["agents"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default()
}
