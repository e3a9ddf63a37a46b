//! Tasks on real cgroups (as root, which CI is): a memory hog is failed with the memory
//! reason, a task below the memory floor is refused, and no container cgroup outlives its
//! task or the agent.

use std::path::PathBuf;
use std::time::Duration;

use super::fake_executor;
use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::support::*;
use crate::{AgentHandle, run};
use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::{StatusSource, TaskState, reason};
use corral_cgroups::{IsolationConfig, IsolationMode, Isolator};

const RETRY: Duration = Duration::from_secs(1);

/// An agent isolating with cgroups under a root of its own, or `None` when not root.
async fn cgroups_agent(
    master: &FakeMaster,
    work: &std::path::Path,
) -> Option<(AgentHandle, Isolator)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: cgroup tests need root");
        return None;
    }
    let isolation = IsolationConfig {
        mode: IsolationMode::Cgroups,
        cgroup_root: PathBuf::from(format!("corral-test-{}", uuid::Uuid::new_v4())),
        pids_limit: 100,
    };
    let mut config = config(master, work, RETRY);
    config.isolation = isolation.clone();
    let agent = run(config, fake_executor::factory())
        .await
        .expect("agent starts with cgroups");
    wait_registered(&agent).await;
    // A second view of the same root, to look at what the agent leaves there.
    let view = Isolator::start(&isolation).expect("cgroups usable");
    Some((agent, view))
}

fn task_with(id: &str, command: &str, resources: &str) -> AgentCommand {
    let mut command = shell_task(id, id, command, None);
    if let AgentCommand::RunTask { task, .. } = &mut command {
        task.resources =
            corral_api::resources::parse_resources(resources).expect("resources parse");
    }
    command
}

async fn wait_no_containers(view: &Isolator) {
    for _ in 0..300 {
        if view.containers_left(ASSIGNED_ID).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("leaked cgroups: {:?}", view.containers_left(ASSIGNED_ID));
}

#[tokio::test]
async fn a_memory_hog_fails_with_the_memory_reason_and_leaves_no_cgroup() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let Some((agent, view)) = cgroups_agent(&master, work.path()).await else {
        return;
    };
    // tail keeps a line in memory until its end: 200 MB without a newline.
    master.send(task_with(
        "hog",
        "head -c 200M /dev/zero | tail; sleep 1",
        "cpus:1;mem:32",
    ));
    master.send(task_with("sleeper", "sleep 100", "cpus:0.1;mem:16"));
    master
        .wait_until("hog to end", |m| {
            m.states_of("hog").iter().any(|s| s.is_terminal())
        })
        .await;
    let failed = master.statuses_of("hog").pop().expect("a status");
    assert_eq!(failed.state, TaskState::TaskFailed);
    assert_eq!(
        failed.reason.as_deref(),
        Some(reason::CONTAINER_LIMITATION_MEMORY)
    );
    assert_eq!(failed.source, Some(StatusSource::SourceAgent));
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains("Memory limit of 32 MB exceeded"),
        "{message}"
    );

    master
        .wait_until("sleeper to run", |m| {
            m.states_of("sleeper").contains(&TaskState::TaskRunning)
        })
        .await;
    assert!(
        !view.containers_left(ASSIGNED_ID).is_empty(),
        "the running task has its cgroups"
    );
    master.send(kill("sleeper"));
    master
        .wait_until("sleeper to be killed", |m| {
            m.states_of("sleeper").contains(&TaskState::TaskKilled)
        })
        .await;
    wait_no_containers(&view).await;
    agent.shutdown().await;
    view.release(ASSIGNED_ID);
}

#[tokio::test]
async fn memory_below_the_floor_is_refused() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let Some((agent, view)) = cgroups_agent(&master, work.path()).await else {
        return;
    };
    master.send(task_with("tiny", "true", "cpus:0.1;mem:2"));
    master
        .wait_until("tiny to be refused", |m| !m.statuses_of("tiny").is_empty())
        .await;
    let refused = master.statuses_of("tiny").remove(0);
    assert_eq!(refused.state, TaskState::TaskError);
    assert_eq!(refused.reason.as_deref(), Some(reason::TASK_INVALID));
    let message = refused.message.unwrap_or_default();
    assert!(message.contains("below the minimum of 4 MB"), "{message}");
    wait_no_containers(&view).await;
    agent.shutdown().await;
    view.release(ASSIGNED_ID);
}

/// A clean stop takes the agent's whole hierarchy with it: the running task's container,
/// the agent's cgroup and the root, in every controller (v1 mounts each one apart), with no
/// help from the test.
#[tokio::test]
async fn a_clean_stop_removes_the_agent_cgroup_hierarchy() {
    if !can_use_cgroups() {
        return;
    }
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let root = test_cgroup_root();
    let mut config = config(&master, work.path(), RETRY);
    config.isolation = IsolationConfig {
        mode: IsolationMode::Cgroups,
        cgroup_root: root.clone(),
        pids_limit: 100,
    };
    let agent = run(config, fake_executor::factory())
        .await
        .expect("agent starts with cgroups");
    wait_registered(&agent).await;
    master.send(task_with("sleeper", "sleep 100", "cpus:0.1;mem:16"));
    master
        .wait_until("sleeper to run", |m| {
            m.states_of("sleeper").contains(&TaskState::TaskRunning)
        })
        .await;
    let while_running = cgroup_dirs_named(&root.join(ASSIGNED_ID));
    agent.shutdown().await;
    let after_stop = cgroup_dirs_named(&root);
    let left = remove_cgroup_root(&root);
    assert!(
        !while_running.is_empty(),
        "the running agent has its cgroup under {}",
        root.display()
    );
    assert_eq!(
        after_stop,
        Vec::<PathBuf>::new(),
        "left by the agent's stop"
    );
    assert_eq!(left, Vec::<PathBuf>::new(), "cgroups still busy");
}
