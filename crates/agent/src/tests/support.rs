//! Starting an agent against the fake master, and building the commands tests send.

use std::path::Path;
use std::time::Duration;

use super::fake_executor;
use super::fake_master::FakeMaster;
use crate::{AgentConfig, AgentHandle, run};
use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::{
    AgentId, CommandInfo, DurationInfo, FrameworkId, FrameworkInfo, KillPolicy, TaskId, TaskInfo,
};

pub const FRAMEWORK: &str = "framework-1";

pub fn config(master: &FakeMaster, work_dir: &Path, retry: Duration) -> AgentConfig {
    AgentConfig {
        master: master.addr.to_string(),
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        hostname: "localhost".into(),
        work_dir: work_dir.to_path_buf(),
        resources: Some("cpus:2;mem:1024".into()),
        attributes: Some("rack:r1".into()),
        executor: fake_executor::PLUGIN.into(),
        status_update_retry: retry,
        isolation: corral_cgroups::IsolationConfig {
            mode: corral_cgroups::IsolationMode::Posix,
            ..Default::default()
        },
        recovery: Default::default(),
        executor_registration_timeout: crate::DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT,
        switch_user: false,
        root_namespaces: false,
        plugin_engine: None,
        isolators: Default::default(),
        hooks: Default::default(),
        fetcher: Default::default(),
        disk_quota: Default::default(),
        container_logger: Default::default(),
        credential: None,
        authorizer: None,
        auth: Default::default(),
        executor_secret_key: None,
        tls: None,
        master_tls: None,
        master_etcd_tls: None,
    }
}

pub async fn start_agent(master: &FakeMaster, work_dir: &Path, retry: Duration) -> AgentHandle {
    run(config(master, work_dir, retry), fake_executor::factory())
        .await
        .expect("agent starts")
}

/// Starts an agent and waits until the fake master has registered it.
pub async fn registered_agent(
    master: &FakeMaster,
    work_dir: &Path,
    retry: Duration,
) -> AgentHandle {
    let before = master.subscriptions().len();
    let agent = start_agent(master, work_dir, retry).await;
    master
        .wait_until("the agent to subscribe", |m| {
            m.subscriptions().len() > before
        })
        .await;
    wait_registered(&agent).await;
    agent
}

/// Waits until the agent's checkpoint writer has saved its id (it may save it just after
/// /state says the agent is registered).
pub async fn agent_id_saved(work: &Path) -> corral_api::v1::AgentId {
    for _ in 0..500 {
        if let Some(id) = crate::checkpoint::read_agent_id(work).expect("readable") {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the registered agent never saved its id");
}

/// Waits until the agent's /state says it is registered.
pub async fn wait_registered(agent: &AgentHandle) {
    let url = format!("http://{}/state", agent.addr);
    for _ in 0..500 {
        let state: serde_json::Value = crate::tests::support::http_get(&url)
            .await
            .expect("agent serves /state")
            .json()
            .await
            .expect("/state is JSON");
        if state["registered"] == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("agent never registered");
}

pub fn shell_task(id: &str, name: &str, command: &str, grace: Option<Duration>) -> AgentCommand {
    AgentCommand::RunTask {
        framework: Box::new(FrameworkInfo {
            user: "test".into(),
            name: "agent tests".into(),
            id: Some(FrameworkId::new(FRAMEWORK)),
            ..Default::default()
        }),
        task: Box::new(TaskInfo {
            name: name.into(),
            task_id: TaskId::new(id),
            agent_id: AgentId::new(super::fake_master::ASSIGNED_ID),
            command: Some(CommandInfo {
                shell: Some(true),
                value: Some(command.into()),
                ..Default::default()
            }),
            kill_policy: grace.map(|g| KillPolicy {
                grace_period: Some(DurationInfo {
                    nanoseconds: g.as_nanos() as i64,
                }),
            }),
            ..Default::default()
        }),
    }
}

pub fn kill(id: &str) -> AgentCommand {
    AgentCommand::KillTask {
        framework_id: FrameworkId::new(FRAMEWORK),
        task_id: TaskId::new(id),
        kill_policy: None,
    }
}

/// Reads the agent's /state as JSON.
pub async fn agent_state(agent: &AgentHandle) -> serde_json::Value {
    crate::tests::support::http_get(format!("http://{}/state", agent.addr))
        .await
        .expect("agent serves /state")
        .json()
        .await
        .expect("/state is JSON")
}

/// Live (not zombie) processes in process group `pgid`, from /proc.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name: state, ppid, pgrp, ...
        let Some(rest) = stat.rsplit_once(") ").map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// The live processes of group `pgid` once they are gone, or after 10 s: a SIGKILL is
/// delivered asynchronously, so a killed process may still exist for a moment after the
/// kill (and the status or the end that follows it) returns.
pub async fn group_members_after_kill(pgid: i32) -> Vec<i32> {
    for _ in 0..500 {
        if group_members(pgid).is_empty() {
            return Vec::new();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    group_members(pgid)
}

/// Waits for a file a task writes (such as its pid) and returns its trimmed content.
pub async fn read_when_written(path: &Path) -> String {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} was never written", path.display());
}

/// The only sandbox of `task` under the agent's work dir.
pub fn find_sandbox(work_dir: &Path, task: &str) -> std::path::PathBuf {
    let dir = work_dir.join("sandboxes").join(FRAMEWORK).join(task);
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(found.len(), 1, "one container dir under {}", dir.display());
    found.remove(0)
}

/// The agent's GET_CONTAINERS entries (asserting the answer is one).
pub async fn containers(agent: &AgentHandle) -> Vec<serde_json::Value> {
    let response: serde_json::Value = corral_client::client_tls::client()
        .post(format!("http://{}/api/v1", agent.addr))
        .json(&serde_json::json!({"type": "GET_CONTAINERS"}))
        .send()
        .await
        .expect("agent answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(response["type"], "GET_CONTAINERS", "{response}");
    response["get_containers"]["containers"]
        .as_array()
        .expect("containers")
        .clone()
}

/// Whether cgroup tests can run here (they need root); says why not when they cannot.
pub fn can_use_cgroups() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: cgroup tests need root");
    }
    root
}

/// A cgroup root of a test's own (`corral-test-<uuid>`), relative to each hierarchy.
pub fn test_cgroup_root() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("corral-test-{}", uuid::Uuid::new_v4()))
}

/// Every directory named `relative` in any cgroup hierarchy mounted under /sys/fs/cgroup (v1
/// controllers, co-mounted ones and the v2 root alike), found without the isolator's help.
pub fn cgroup_dirs_named(relative: &Path) -> Vec<std::path::PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    std::fs::read_dir(base)
        .into_iter()
        .flat_map(|entries| entries.flatten())
        .map(|e| e.path())
        .chain(std::iter::once(base.to_path_buf()))
        .map(|mount| mount.join(relative))
        .filter(|dir| dir.is_dir())
        .collect()
}

/// Removes a test's cgroup root from every hierarchy, deepest directories first. Only empty
/// cgroups can be removed, so a cgroup that still holds a process stays (and is returned).
pub fn remove_cgroup_root(root: &Path) -> Vec<std::path::PathBuf> {
    fn remove_tree(dir: &Path) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
    for dir in cgroup_dirs_named(root) {
        remove_tree(&dir);
    }
    cgroup_dirs_named(root)
}

/// GET `url` with a client from corral_client's builder (reqwest's rustls needs ring's
/// provider, which that builder installs).
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    corral_client::client_tls::client().get(url).send().await
}
