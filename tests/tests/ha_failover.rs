//! Failover speed and its safety: a leader killed with -9 is replaced long before its lease
//! expires (followers find its port refusing connections and revoke its lease), agents given
//! `--master etcd://...` follow the new leader with their tasks, and a leader that is only
//! paused (its port still accepts) is not replaced before its lease ends.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_e2e::ha::{launch_sleepers, reconcile_all};
use corral_e2e::{Framework, HaCluster, HaOptions, framework_info, signal};
use serde_json::json;

/// Far longer than the waits below: only the dead-leader probe can end a term in time.
const LONG_LEASE_SECS: u64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_before_its_lease_expires_and_etcd_agents_follow() {
    let options = HaOptions {
        lease_secs: LONG_LEASE_SECS,
        agents_via_etcd: true,
    };
    let mut cluster = HaCluster::start_with(1, 2, 1, "cpus:1;mem:512", options).await;
    let leader = cluster.wait_leader(None, 10).await;
    let starts = cluster.dir.path().join("starts");
    std::fs::create_dir_all(&starts).expect("starts dir");
    let info = framework_info("ha-fast", json!({"failover_timeout": 300.0}));
    let mut fw = Framework::subscribe(&leader, info.clone()).await;
    let ids = launch_sleepers(&mut fw, 3, &starts).await;
    let want: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "TASK_RUNNING")).collect();
    fw.task_states(&want, 60).await;
    let framework_id = fw.id.clone();
    drop(fw);

    let old = cluster.master_index(&leader);
    cluster.masters[old].kill9();
    let new_leader = cluster.wait_leader(Some(&leader), 10).await;
    let follower_log = cluster.masters[1 - old].log_text();
    assert!(
        follower_log.contains("refuses connections"),
        "the follower revoked the dead leader's lease: {follower_log}"
    );

    // The agent, given only etcd, reads the new leader from the election and re-registers.
    cluster.wait_agents(&new_leader, 1, 20).await;
    let mut info = info;
    info["id"] = json!({"value": framework_id});
    let mut fw = Framework::subscribe(&new_leader, info).await;
    let states = reconcile_all(&mut fw, ids.len()).await;
    let running: BTreeSet<&String> = states
        .iter()
        .filter(|(_, state)| *state == "TASK_RUNNING")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        running.len(),
        ids.len(),
        "every task still runs: {states:?}\n{}",
        cluster.logs()
    );
    for id in &ids {
        let text = std::fs::read_to_string(starts.join(id)).unwrap_or_default();
        assert_eq!(text.lines().count(), 1, "{id} started once, not {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_not_taken_for_dead() {
    let options = HaOptions {
        lease_secs: LONG_LEASE_SECS,
        agents_via_etcd: false,
    };
    let cluster = HaCluster::start_with(1, 2, 0, "cpus:1;mem:512", options).await;
    let leader = cluster.wait_leader(None, 10).await;
    let old = cluster.master_index(&leader);
    let follower = cluster.master_addrs[1 - old].clone();
    let pid = cluster.masters[old].pid();
    signal(pid, libc::SIGSTOP);
    // Its port still accepts connections (the kernel answers), so probes time out at worst:
    // the follower keeps naming it for as long as its lease lasts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let named = HaCluster::leader_per(&follower).await;
    signal(pid, libc::SIGCONT);
    assert_eq!(named.as_deref(), Some(leader.as_str()), "still the leader");
    let log = cluster.masters[1 - old].log_text();
    assert!(!log.contains("refuses connections"), "{log}");
    assert_eq!(cluster.wait_leader(None, 10).await, leader);
}

/// Asked at once after the leader is killed (before its poll could notice), a follower names
/// no dead leader: it finds the port refusing, holds the request through the election, and
/// then names itself. Agents redirected to the dead port would fall into their backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_does_not_redirect_to_a_killed_leader() {
    let options = HaOptions {
        lease_secs: LONG_LEASE_SECS,
        agents_via_etcd: false,
    };
    let mut cluster = HaCluster::start_with(1, 2, 0, "cpus:1;mem:512", options).await;
    let leader = cluster.wait_leader(None, 10).await;
    let old = cluster.master_index(&leader);
    let follower = cluster.master_addrs[1 - old].clone();
    assert_eq!(HaCluster::leader_per(&follower).await, Some(leader.clone()));
    // Past the 20 ms for which the follower trusts its last probe of the leader.
    tokio::time::sleep(Duration::from_millis(100)).await;
    cluster.masters[old].kill9();
    // The follower holds the request for up to 5 s while it is elected.
    let named = HaCluster::leader_per_within(&follower, Duration::from_secs(15)).await;
    assert_eq!(
        named.as_deref(),
        Some(follower.as_str()),
        "the follower, elected while holding the request, names itself\n{}",
        cluster.logs()
    );
}

/// The state of `task_id` of `framework_id` in the master's GET_TASKS (active or completed).
async fn task_state_at(master: &str, framework_id: &str, task_id: &str) -> Option<String> {
    let tasks = corral_e2e::operator(master, "GET_TASKS").await.ok()?;
    let get = &tasks["get_tasks"];
    ["tasks", "completed_tasks"]
        .iter()
        .flat_map(|list| get[list].as_array().cloned().unwrap_or_default())
        .find(|t| t["framework_id"]["value"] == framework_id && t["task_id"]["value"] == task_id)
        .and_then(|t| t["state"].as_str().map(String::from))
}

/// The new leader restarts each framework's failover timer at its election (as Mesos does):
/// a framework that does not come back within its timeout has its tasks killed; one that
/// resubscribes in time loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failover_timeout_is_honoured_across_a_leader_change() {
    // Long enough for the leader change and the checks after it on a loaded machine; the
    // framework that leaves is set up last, so its timer runs only from there to the kill.
    const TIMEOUT_SECS: f64 = 15.0;
    let mut cluster = HaCluster::start(1, 2, 1, "cpus:1;mem:512").await;
    let leader = cluster.wait_leader(None, 10).await;
    let mut launched = Vec::new();
    for (name, timeout) in [("returns", 300.0), ("leaves", TIMEOUT_SECS)] {
        let starts = cluster.dir.path().join(name);
        std::fs::create_dir_all(&starts).expect("starts dir");
        let info = framework_info(name, json!({"failover_timeout": timeout}));
        let mut fw = Framework::subscribe(&leader, info.clone()).await;
        let ids = launch_sleepers(&mut fw, 1, &starts).await;
        fw.task_states(&[(ids[0].as_str(), "TASK_RUNNING")], 60)
            .await;
        launched.push((info, fw.id.clone(), ids[0].clone()));
        // Dropped: the framework disconnects; its failover timer starts.
    }
    let old = cluster.master_index(&leader);
    cluster.masters[old].kill9();
    let new_leader = cluster.wait_leader(Some(&leader), 15).await;
    cluster.wait_agents(&new_leader, 1, 20).await;
    let (_, leaves_id, leaves_task) = launched[1].clone();
    assert_eq!(
        task_state_at(&new_leader, &leaves_id, &leaves_task)
            .await
            .as_deref(),
        Some("TASK_RUNNING"),
        "not killed at the leader change itself\n{}",
        cluster.logs()
    );

    let (mut info, returns_id, returns_task) = launched[0].clone();
    info["id"] = json!({"value": returns_id});
    let mut fw = Framework::subscribe(&new_leader, info).await;
    assert_eq!(fw.id, returns_id);

    let master = new_leader.clone();
    corral_e2e::eventually(
        60,
        "the framework that left to have its task killed",
        || {
            let master = master.clone();
            let (id, task) = (leaves_id.clone(), leaves_task.clone());
            async move {
                (task_state_at(&master, &id, &task).await.as_deref() == Some("TASK_KILLED"))
                    .then_some(())
            }
        },
    )
    .await;
    let states = reconcile_all(&mut fw, 1).await;
    assert_eq!(
        states.get(&returns_task).map(String::as_str),
        Some("TASK_RUNNING"),
        "the framework that came back keeps its task\n{}",
        cluster.logs()
    );
}

/// `corral execute` given every master follows a leader change: it resubscribes with its
/// framework id to the new leader and reconciles, and its running tasks finish there, each
/// started once. With one master, losing it ends the run (covered by walking_skeleton).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corral_execute_follows_a_leader_change_and_its_tasks_finish() {
    let options = HaOptions {
        lease_secs: LONG_LEASE_SECS,
        agents_via_etcd: false,
    };
    let mut cluster = HaCluster::start_with(1, 2, 1, "cpus:1;mem:512", options).await;
    let leader = cluster.wait_leader(None, 10).await;
    let starts = cluster.dir.path().join("execute-starts");
    std::fs::create_dir_all(&starts).expect("starts dir");
    let command = format!(
        "echo started >> {}/$MESOS_TASK_ID; sleep 8",
        starts.display()
    );
    let execute = std::process::Command::new(corral_e2e::corral_bin())
        .args([
            "execute",
            "--master",
            &cluster.master_list(),
            "--name",
            "ha",
        ])
        .args(["--instances", "2", "--cpus", "0.1", "--mem", "16"])
        .args(["--command", &command])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start corral execute");
    corral_e2e::eventually(30, "both tasks to start", || {
        let started = std::fs::read_dir(&starts).map_or(0, |d| d.count());
        async move { (started == 2).then_some(()) }
    })
    .await;

    let old = cluster.master_index(&leader);
    cluster.masters[old].kill9();
    let new_leader = cluster.wait_leader(Some(&leader), 10).await;

    let output = tokio::task::spawn_blocking(move || execute.wait_with_output())
        .await
        .expect("joined")
        .expect("corral execute ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}\n{}", cluster.logs());
    assert_eq!(output.status.code(), Some(0), "execute succeeded\n{report}");
    assert!(
        stdout.contains(&format!("Resubscribed to {new_leader}")),
        "it followed the new leader\n{report}"
    );
    assert!(
        stdout.contains(": 2 TASK_FINISHED"),
        "both tasks finished\n{report}"
    );
    for entry in std::fs::read_dir(&starts).expect("starts") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text.lines().count(), 1, "{path:?} started once\n{report}");
    }
}
