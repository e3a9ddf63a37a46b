//! Health checks survive an agent crash: after `kill -9` of the agent and a restart, the
//! reattached command task is checked again (a fresh `healthy` update comes), and failing
//! checks still kill it, with TASK_KILLED healthy=false.

use std::collections::HashSet;
use std::time::Duration;

use corral_e2e::task_processes::{alive, await_task_pid};
use corral_e2e::{Cluster, Framework, framework_info, task};
use serde_json::{Value, json};

/// Acknowledges updates of `id` until one satisfies `want` (and is not among `skip`, by uuid).
async fn update_where(
    fw: &mut Framework,
    id: &str,
    what: &str,
    skip: &HashSet<String>,
    want: impl Fn(&Value) -> bool,
) -> (Value, HashSet<String>) {
    let mut seen = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = fw.next_event(left.as_secs().max(1)).await else {
            panic!("timed out waiting for {what}");
        };
        if event["type"] != "UPDATE" {
            continue;
        }
        let status = event["update"]["status"].clone();
        fw.ack(&status).await;
        let uuid = status["uuid"].as_str().unwrap_or_default().to_string();
        seen.insert(uuid.clone());
        if status["task_id"]["value"] == id && !skip.contains(&uuid) && want(&status) {
            return (status, seen);
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_task_keeps_its_health_check() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let dir = cluster.dir.path().to_path_buf();
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("health", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let agent_id = offer["agent_id"]["value"]
        .as_str()
        .expect("agent id")
        .to_string();
    let marker = dir.join("healthy");
    std::fs::write(&marker, "").expect("marker");
    let mut t = task("checked", &offer, "exec sleep 600", 0.1, 16.0);
    t["health_check"] = json!({
        "type": "COMMAND",
        "delay_seconds": 0.0,
        "interval_seconds": 0.3,
        "consecutive_failures": 2,
        "grace_period_seconds": 0.0,
        "command": {"shell": true, "value": format!("test -f {}", marker.display())},
    });
    assert_eq!(fw.launch(&offer, vec![t], 60.0).await, 202);
    let (_, before) = update_where(&mut fw, "checked", "healthy before", &HashSet::new(), |s| {
        s["healthy"] == true
    })
    .await;
    let pid = await_task_pid("checked", 30).await;

    cluster.agents[0].kill9();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(alive(pid), "the task outlives its agent");
    cluster.agents[0].restart();
    let (healthy, _) = update_where(&mut fw, "checked", "healthy after recovery", &before, |s| {
        s["state"] == "TASK_RUNNING" && s["healthy"] == true
    })
    .await;
    assert_eq!(
        healthy["reason"], "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
        "{healthy}"
    );
    assert!(alive(pid), "reattached, same pid");

    std::fs::remove_file(&marker).expect("marker removed");
    let (killed, _) = update_where(&mut fw, "checked", "TASK_KILLED", &HashSet::new(), |s| {
        s["state"] == "TASK_KILLED"
    })
    .await;
    assert_eq!(killed["healthy"], false, "{killed}");
    assert!(
        killed["message"]
            .as_str()
            .is_some_and(|m| m.contains("consecutive failed health checks")),
        "{killed}"
    );
    corral_e2e::eventually(10, "the task's process to be gone", || async move {
        (!alive(pid)).then_some(())
    })
    .await;
    cluster.agents[0].kill9();
    // The agent's parent cgroups (if cgroups are in use), empty once its task is gone.
    for parent in ["cpu", "cpuacct", "memory", "pids", ""] {
        let path = std::path::Path::new("/sys/fs/cgroup")
            .join(parent)
            .join("corral");
        let _ = std::fs::remove_dir(path.join(&agent_id));
    }
}
