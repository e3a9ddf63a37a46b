//! Chaos on a highly available cluster (real etcd members, masters and agents on loopback):
//! the leading master killed with -9, a leader paused until deposed, etcd losing members.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_e2e::ha::{active_agents, launch_sleepers, reconcile_all};
use corral_e2e::{Framework, HaCluster, HaOptions, framework_info, signal};
use serde_json::{Value, json};

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
    // The line is logged once its lease is revoked in etcd, a moment after it steps down.
    cluster.masters[old]
        .wait_for_log("stopped leading", 10)
        .await;
    // It serves nothing itself: the scheduler API redirects to the new leader.
    let http = corral_e2e::http_client_builder()
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
    // A lease long enough to outlast an etcd election when the killed member led etcd (or
    // held the master's keep-alive stream): this test is about quorum, not speed.
    let options = HaOptions {
        lease_secs: 5,
        ..HaOptions::default()
    };
    let mut cluster = HaCluster::start_with(3, 2, 1, "cpus:1;mem:512", options.clone()).await;
    let leader = cluster.wait_leader(None, 10).await;

    // One member down: a majority remains and the leader keeps leading.
    cluster.etcd.kill9(2);
    tokio::time::sleep(Duration::from_secs(options.lease_secs * 2)).await;
    assert_eq!(cluster.wait_leader(None, 10).await, leader);
    let fw = Framework::subscribe(&leader, framework_info("quorum", json!({}))).await;
    drop(fw);

    // Two down: no quorum, so no master may act as leader (no split brain).
    cluster.etcd.kill9(1);
    let addrs = cluster.master_addrs.clone();
    corral_e2e::eventually(30, "every master to stop leading", || {
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
    let status = corral_e2e::http_client()
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
