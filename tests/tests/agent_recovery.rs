//! Agent recovery: `kill -9` of the agent leaves its tasks running; the restarted agent
//! reattaches to them (same pids, same cgroups), reports tasks that ended while it was down
//! with their true state, and the framework never sees them lost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_e2e::task_processes::{alive, await_task_pid, task_pid};
use corral_e2e::{Cluster, Framework, framework_info, operator, task};
use serde_json::{Value, json};

const SLEEPERS: usize = 20;

/// The agent's cgroup (v1 memory hierarchy, or v2), if cgroups are in use.
fn agent_cgroup(agent_id: &str) -> Option<PathBuf> {
    let parents = [
        Path::new("/sys/fs/cgroup/memory/corral").join(agent_id),
        Path::new("/sys/fs/cgroup/corral").join(agent_id),
    ];
    parents.into_iter().find(|p| p.is_dir())
}

/// The container cgroups of an agent, if cgroups are in use.
fn container_cgroups(agent_id: &str) -> Option<Vec<PathBuf>> {
    let parent = agent_cgroup(agent_id)?;
    let dirs = std::fs::read_dir(&parent)
        .expect("read the agent's cgroup")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    Some(dirs)
}

/// The agent's parent cgroups, removed once empty so the test leaves none behind.
fn remove_agent_cgroups(agent_id: &str) {
    for controller in ["cpu", "cpuacct", "memory", "pids"] {
        let _ = std::fs::remove_dir(
            Path::new("/sys/fs/cgroup")
                .join(controller)
                .join("corral")
                .join(agent_id),
        );
    }
    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup/corral").join(agent_id));
}

/// Collects (and acknowledges) updates until `done` says the collection is complete;
/// returns every update's status in order.
async fn collect_updates(
    fw: &mut Framework,
    secs: u64,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done(&seen) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = fw.next_event(left.as_secs().max(1)).await else {
            panic!("timed out waiting for {what}; saw {seen:#?}");
        };
        if event["type"] == "UPDATE" {
            let status = event["update"]["status"].clone();
            fw.ack(&status).await;
            seen.push(status);
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}; saw {seen:#?}");
        }
    }
    seen
}

/// How many distinct tasks (ids starting with `prefix`) have an update in `state` (an
/// unacknowledged update may come again, so duplicates are not counted).
fn count_in(statuses: &[Value], prefix: &str, state: &str) -> usize {
    statuses
        .iter()
        .filter(|s| s["state"] == state)
        .filter_map(|s| s["task_id"]["value"].as_str())
        .filter(|id| id.starts_with(prefix))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// The task's terminal update, if it came.
fn terminal_of(statuses: &[Value], id: &str) -> Option<Value> {
    statuses
        .iter()
        .find(|s| {
            s["task_id"]["value"] == id
                && !matches!(
                    s["state"].as_str(),
                    Some("TASK_STAGING" | "TASK_STARTING" | "TASK_RUNNING")
                )
        })
        .cloned()
}

async fn master_task_states(master: &str) -> HashMap<String, String> {
    let v = operator(master, "GET_TASKS").await.expect("GET_TASKS");
    ["tasks", "completed_tasks"]
        .iter()
        .flat_map(|k| v["get_tasks"][*k].as_array().cloned().unwrap_or_default())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_the_agent_loses_none_of_twenty_running_tasks() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:8;mem:4096", &[]).await;
    let dir = cluster.dir.path().to_path_buf();
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("recovery", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let agent_id = offer["agent_id"]["value"]
        .as_str()
        .expect("agent id")
        .to_string();
    let go = dir.join("go");
    let mut tasks: Vec<Value> = (0..SLEEPERS)
        .map(|i| task(&format!("sleep-{i}"), &offer, "exec sleep 600", 0.1, 16.0))
        .collect();
    // These two end while the agent is down: they wait for `go`, then exit.
    for (id, code) in [("exit-3", 3), ("exit-0", 0)] {
        let command = format!(
            "while [ ! -e {} ]; do sleep 0.1; done; exit {code}",
            go.display()
        );
        tasks.push(task(id, &offer, &command, 0.1, 16.0));
    }
    assert_eq!(fw.launch(&offer, tasks, 60.0).await, 202);
    let before = collect_updates(&mut fw, 60, "every task RUNNING", |seen| {
        count_in(seen, "", "TASK_RUNNING") == SLEEPERS + 2
    })
    .await;
    assert_eq!(count_in(&before, "", "TASK_FAILED"), 0, "{before:#?}");
    let mut pids = Vec::new();
    for i in 0..SLEEPERS {
        pids.push(await_task_pid(&format!("sleep-{i}"), 30).await);
    }
    assert!(pids.iter().all(|p| alive(*p)), "all sleepers run: {pids:?}");
    let cgroups_before = container_cgroups(&agent_id);
    if let Some(dirs) = &cgroups_before {
        assert_eq!(dirs.len(), SLEEPERS + 2, "one cgroup per task: {dirs:?}");
    }

    // Crash the agent; two tasks end while it is down.
    cluster.agents[0].kill9();
    std::fs::write(&go, "").expect("write go");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        pids.iter().all(|p| alive(*p)),
        "the tasks outlive their agent"
    );
    cluster.agents[0].restart();

    let after = collect_updates(&mut fw, 60, "the two exits reported", |seen| {
        terminal_of(seen, "exit-3").is_some() && terminal_of(seen, "exit-0").is_some()
    })
    .await;
    let failed = terminal_of(&after, "exit-3").expect("exit-3 reported");
    assert_eq!(failed["state"], "TASK_FAILED", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("status 3")),
        "the message names the exit code: {failed}"
    );
    let finished = terminal_of(&after, "exit-0").expect("exit-0 reported");
    assert_eq!(finished["state"], "TASK_FINISHED", "{finished}");

    // The master keeps the sleepers RUNNING once the agent is back.
    let master = cluster.master_addr.clone();
    corral_e2e::eventually(30, "the agent to re-register", || {
        let master = master.clone();
        async move {
            let v = operator(&master, "GET_AGENTS").await.ok()?;
            (v["get_agents"]["agents"][0]["active"] == true).then_some(())
        }
    })
    .await;
    let states = master_task_states(&cluster.master_addr).await;
    for i in 0..SLEEPERS {
        assert_eq!(
            states.get(&format!("sleep-{i}")).map(String::as_str),
            Some("TASK_RUNNING"),
            "master's view: {states:?}"
        );
    }
    assert!(pids.iter().all(|p| alive(*p)), "same pids still run");
    for (i, pid) in pids.iter().enumerate() {
        assert_eq!(task_pid(&format!("sleep-{i}")), Some(*pid));
    }

    // Kill them through the framework: the recovered agent carries it out.
    for i in 0..SLEEPERS {
        let (code, body) = fw
            .call(json!({"type": "KILL", "kill": {
                "task_id": {"value": format!("sleep-{i}")},
                "agent_id": {"value": agent_id},
            }}))
            .await;
        assert_eq!(code, 202, "KILL answered {code}: {body}");
    }
    let killed = collect_updates(&mut fw, 60, "every sleeper KILLED", |seen| {
        count_in(seen, "sleep-", "TASK_KILLED") == SLEEPERS
    })
    .await;
    for statuses in [&before, &after, &killed] {
        for state in ["TASK_LOST", "TASK_FAILED", "TASK_GONE", "TASK_DROPPED"] {
            assert_eq!(
                count_in(statuses, "sleep-", state),
                0,
                "no sleeper may be {state}: {statuses:#?}\n{}",
                cluster.logs()
            );
        }
    }
    corral_e2e::eventually(10, "the killed processes to be gone", || {
        let pids = pids.clone();
        async move { pids.iter().all(|p| !alive(*p)).then_some(()) }
    })
    .await;
    if cgroups_before.is_some() {
        let id = agent_id.clone();
        corral_e2e::eventually(10, "no container cgroup left", || {
            let id = id.clone();
            async move {
                container_cgroups(&id)
                    .is_none_or(|d| d.is_empty())
                    .then_some(())
            }
        })
        .await;
    }
    cluster.agents[0].kill9();
    remove_agent_cgroups(&agent_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_cleanup_kills_the_tasks_it_finds() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("cleanup", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let agent_id = offer["agent_id"]["value"]
        .as_str()
        .expect("agent id")
        .to_string();
    assert_eq!(
        fw.launch(
            &offer,
            vec![task("t", &offer, "exec sleep 600", 0.1, 16.0)],
            60.0
        )
        .await,
        202
    );
    fw.task_state("t", "TASK_RUNNING", 30).await;
    let pid = await_task_pid("t", 30).await;

    cluster.agents[0].kill9();
    assert!(alive(pid), "the task outlives its agent");
    // A container cgroup that no checkpoint names (a crash right after creating one).
    let stale = agent_cgroup(&agent_id).map(|parent| parent.join("stale-container"));
    if let Some(stale) = &stale {
        std::fs::create_dir(stale).expect("create a stale cgroup");
    }
    cluster.agents[0].restart_with(&["--recover", "cleanup"]);
    let killed = fw.task_state("t", "TASK_KILLED", 30).await;
    assert_eq!(killed["task_id"]["value"], "t");
    corral_e2e::eventually(10, "the task's process to be gone", || async move {
        (!alive(pid)).then_some(())
    })
    .await;
    let id = agent_id.clone();
    corral_e2e::eventually(10, "no container cgroup left, stale ones included", || {
        let id = id.clone();
        async move {
            container_cgroups(&id)
                .is_none_or(|d| d.is_empty())
                .then_some(())
        }
    })
    .await;
    if let Some(stale) = &stale {
        assert!(!stale.exists(), "{} was removed", stale.display());
    }
    cluster.agents[0].kill9();
    remove_agent_cgroups(&agent_id);
}

/// The agent dies right after starting a task's command, before it checkpoints the command's
/// supervisor (a debug build's crash point: `crash-after-start` in its work dir). The
/// restarted agent finds the supervisor and reattaches: the framework never hears that the
/// command did not start, and a kill reaches the process (before, it was reported
/// TASK_FAILED "The agent restarted before the task's command started" and left running).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_a_commands_start_and_its_checkpoint_loses_nothing() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:2;mem:1024", &[]).await;
    let dir = cluster.dir.path().to_path_buf();
    let crash_point = dir.join("agent0").join("crash-after-start");
    std::fs::write(&crash_point, "").expect("crash point");
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("crash", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let started = task("started", &offer, "exec sleep 600", 0.1, 16.0);
    assert_eq!(fw.launch(&offer, vec![started], 60.0).await, 202);
    let pid = await_task_pid("started", 30).await;
    let agent = cluster.agent_addrs[0].clone();
    corral_e2e::eventually(30, "the agent to crash at the crash point", || {
        let url = format!("http://{agent}/health");
        async move { corral_e2e::http_get(url).await.is_err().then_some(()) }
    })
    .await;
    assert!(!crash_point.exists(), "the crash point was taken");
    assert!(alive(pid), "the command outlives its agent");

    cluster.agents[0].restart();
    corral_e2e::eventually(30, "the agent to re-register with the task", || {
        let url = format!("http://{agent}/state");
        async move {
            let state: Value = corral_e2e::http_get(url).await.ok()?.json().await.ok()?;
            let listed = state["tasks"]
                .as_array()?
                .iter()
                .any(|t| t["task_id"]["value"] == "started");
            (state["registered"] == true && listed).then_some(())
        }
    })
    .await;
    let (status, _) = fw
        .call(json!({"type": "KILL", "kill": {
            "task_id": {"value": "started"}, "agent_id": offer["agent_id"]}}))
        .await;
    assert_eq!(status, 202);
    let updates = collect_updates(&mut fw, 60, "the task's end", |seen| {
        terminal_of(seen, "started").is_some()
    })
    .await;
    let end = terminal_of(&updates, "started").expect("an end");
    assert_eq!(end["state"], "TASK_KILLED", "{updates:#?}");
    corral_e2e::eventually(30, "the command to be killed", || async move {
        (!alive(pid)).then_some(())
    })
    .await;
}
