//! GET_CONTAINERS and /monitor/statistics: a busy task's cpu time grows, a task holding
//! memory shows it as rss; with the posix fallback and on real cgroups (as root).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::fake_executor;
use super::fake_master::FakeMaster;
use super::support::*;
use crate::{AgentHandle, run};
use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::TaskState;
use corral_cgroups::{IsolationConfig, IsolationMode};

const BUSY: &str = "while :; do :; done";
/// Holds about 64 MiB of touched memory.
const HOG: &str = "python3 -c 'import time; x = bytearray(64 << 20); time.sleep(300)'";

fn stats_of<'a>(all: &'a [Value], task: &str) -> &'a Value {
    &all.iter()
        .find(|c| c["executor_id"]["value"] == task)
        .unwrap_or_else(|| panic!("{task} in {all:?}"))["resource_statistics"]
}

fn cpu_secs(stats: &Value) -> f64 {
    stats["cpus_user_time_secs"].as_f64().unwrap_or(0.0)
        + stats["cpus_system_time_secs"].as_f64().unwrap_or(0.0)
}

fn task_with(id: &str, command: &str, resources: &str) -> AgentCommand {
    let mut command = shell_task(id, id, command, None);
    if let AgentCommand::RunTask { task, .. } = &mut command {
        task.resources =
            corral_api::resources::parse_resources(resources).expect("resources parse");
    }
    command
}

/// Runs a busy task and a memory hog, and checks what GET_CONTAINERS says of them.
async fn usage_moves(master: &FakeMaster, agent: &AgentHandle) {
    master.send(task_with("busy", BUSY, "cpus:0.5;mem:64"));
    master.send(task_with("hog", HOG, "cpus:0.1;mem:256"));
    for task in ["busy", "hog"] {
        master
            .wait_until("the task to run", |m| {
                m.states_of(task).contains(&TaskState::TaskRunning)
            })
            .await;
    }
    let first = cpu_secs(stats_of(&containers(agent).await, "busy"));
    let mut grown = first;
    // Generous: the busy loop competes with everything else on the machine.
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        grown = cpu_secs(stats_of(&containers(agent).await, "busy"));
        if grown >= first + 0.2 {
            break;
        }
    }
    assert!(
        grown >= first + 0.2,
        "busy cpu time went from {first} to {grown}"
    );

    let mut rss = 0;
    for _ in 0..400 {
        let all = containers(agent).await;
        rss = stats_of(&all, "hog")["mem_rss_bytes"].as_u64().unwrap_or(0);
        if rss >= 60 << 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rss >= 60 << 20, "hog rss is {rss}");
    let all = containers(agent).await;
    let hog = stats_of(&all, "hog");
    assert_eq!(hog["mem_limit_bytes"], 256u64 << 20);
    assert_eq!(hog["cpus_limit"], 0.1);
    assert!(hog["processes"].as_u64().expect("processes") >= 1);
    assert!(hog["timestamp"].as_f64().expect("timestamp") > 1.6e9);

    let monitor: Value =
        crate::tests::support::http_get(format!("http://{}/monitor/statistics", agent.addr))
            .await
            .expect("agent answers")
            .json()
            .await
            .expect("JSON");
    let entries = monitor.as_array().expect("a list");
    assert!(
        entries
            .iter()
            .any(|e| e["executor_id"] == "busy" && e["statistics"]["cpus_limit"] == 0.5),
        "{monitor}"
    );

    master.send(kill("busy"));
    master.send(kill("hog"));
    master
        .wait_until("both to be killed", |m| {
            m.states_of("busy").contains(&TaskState::TaskKilled)
                && m.states_of("hog").contains(&TaskState::TaskKilled)
        })
        .await;
    assert!(
        containers(agent).await.is_empty(),
        "ended tasks are not listed"
    );
}

#[tokio::test]
async fn usage_under_the_posix_fallback() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), Duration::from_secs(1)).await;
    usage_moves(&master, &agent).await;
    agent.shutdown().await;
}

#[tokio::test]
async fn usage_from_cgroups() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: cgroup tests need root");
        return;
    }
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut config = config(&master, work.path(), Duration::from_secs(1));
    config.isolation = IsolationConfig {
        mode: IsolationMode::Cgroups,
        cgroup_root: PathBuf::from(format!("corral-test-{}", uuid::Uuid::new_v4())),
        pids_limit: 100,
    };
    let agent = run(config, fake_executor::factory())
        .await
        .expect("agent starts with cgroups");
    wait_registered(&agent).await;
    usage_moves(&master, &agent).await;
    // A clean stop removes the agent's cgroups; without it the test root stays behind.
    agent.shutdown().await;
}
