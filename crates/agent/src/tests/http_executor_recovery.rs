//! An HTTP executor adopted after an agent restart keeps what the isolator plugins gave its
//! container: the plugins are told of it in `recover`, as of a reattached task's, and clean
//! it up when the executor ends; it is killed when it does not subscribe again in time, and
//! keeps its tasks when it does.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::json;

use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::http_executor::{
    EXECUTOR, EXECUTOR_COMMAND, Executor, RETRY, executor_task, is_alive, sandbox,
};
use super::support::*;
use corral_api::agent_protocol::AgentCommand;
use corral_api::recordio::Decoder;
use corral_api::v1::{AgentId, FrameworkId, Id, Resource, StatusSource, TaskState};
use corral_plugin_host::PluginTask;
use corral_plugin_host::error::PluginError;
use corral_plugin_host::isolator::{
    IsolatorPlugin, IsolatorSet, LaunchPlan, Metric, RecoveredContainer,
};
use corral_plugin_host::manifest::Manifest;

/// A plugin that records the containers `recover` hands it (id and task id) and those it
/// is asked to clean up.
struct Recording {
    manifest: Manifest,
    recovered: Arc<Mutex<Vec<(String, String)>>>,
    cleaned: Arc<Mutex<Vec<String>>>,
}

impl IsolatorPlugin for Recording {
    fn plugin_name(&self) -> &str {
        "recording"
    }
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    fn discover(&mut self) -> Result<Vec<Resource>, PluginError> {
        Ok(Vec::new())
    }
    fn recover(&mut self, containers: &[RecoveredContainer]) -> Result<(), PluginError> {
        let mut recovered = self
            .recovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for c in containers {
            recovered.push((c.container_id.clone(), c.task.info.task_id.value.clone()));
        }
        Ok(())
    }
    fn prepare(&mut self, _: &str, _: &PluginTask) -> Result<LaunchPlan, PluginError> {
        Ok(LaunchPlan {
            environment: Vec::new(),
            devices: Vec::new(),
            mounts: Vec::new(),
            cgroup: Vec::new(),
        })
    }
    fn usage(&mut self, _: &str) -> Result<Vec<Metric>, PluginError> {
        Ok(Vec::new())
    }
    fn cleanup(&mut self, container_id: &str) -> Result<(), PluginError> {
        self.cleaned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(container_id.to_string());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolator_plugins_recover_an_adopted_executors_container() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut orphan = left_by_an_earlier_run(work.path(), &["t1"]);
    let recovered = Arc::new(Mutex::new(Vec::new()));
    let cleaned = Arc::new(Mutex::new(Vec::new()));
    let mut config = config(&master, work.path(), Duration::from_secs(1));
    config.isolators = IsolatorSet::new(
        vec![Box::new(Recording {
            manifest: Manifest::parse(include_str!("../../../../plugins/gpu/manifest.toml"))
                .expect("gpu manifest"),
            recovered: recovered.clone(),
            cleaned: cleaned.clone(),
        })],
        "/".into(),
    );
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    let seen = recovered
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(
        seen,
        vec![("executor-container".to_string(), "t1".to_string())],
        "the executor's container, as it was prepared (with its first task)"
    );
    // The executor ends: the plugins release its container.
    let _ = orphan.kill();
    let _ = orphan.wait();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = cleaned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if now == vec!["executor-container".to_string()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the plugins were not asked to clean up the ended executor's container: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent.shutdown().await;
}

/// What an earlier run of the agent leaves: checkpoints of `tasks` (RUNNING, with the
/// executor) and of the executor, whose process (returned) still runs in its own group.
pub(super) fn left_by_an_earlier_run(work: &Path, tasks: &[&str]) -> std::process::Child {
    use crate::checkpoint::save_agent_id;
    use crate::container_checkpoint::{self, ContainerCheckpoint};
    use crate::http_executors::checkpoint::{self as executor_checkpoint, ExecutorCheckpoint};
    use std::os::unix::process::CommandExt;

    save_agent_id(work, &AgentId::new(ASSIGNED_ID)).expect("agent id");
    for id in tasks {
        let AgentCommand::RunTask { framework, task } = executor_task(id, EXECUTOR_COMMAND) else {
            unreachable!()
        };
        let task_checkpoint = ContainerCheckpoint {
            framework: *framework,
            task: *task,
            container_id: format!("container-{id}"),
            sandbox: sandbox(work),
            cgroup_parent: None,
            process: None,
            state: TaskState::TaskRunning,
            kill_requested: false,
        };
        container_checkpoint::save(work, &task_checkpoint).expect("checkpoint");
    }
    let orphan = std::process::Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .expect("spawn sleep");
    let pid = orphan.id();
    let start = crate::supervisor::start_time(pid).expect("start time");
    executor_checkpoint::save_now(
        work,
        &ExecutorCheckpoint {
            framework_id: FrameworkId::new(FRAMEWORK),
            executor_id: Id::new(EXECUTOR),
            container_id: "executor-container".into(),
            supervisor_pid: pid,
            supervisor_start: start,
            pgid: pid,
        },
    )
    .expect("executor checkpoint");
    orphan
}

/// Mesos' fallback when an executor does not come back: after the reregistration timeout
/// it is killed, its tasks fail with REASON_EXECUTOR_REREGISTRATION_TIMEOUT, and its
/// checkpoint goes.
// Multi-threaded: the test blocks on wait() while the agent's timers run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_that_does_not_subscribe_again_after_a_restart_is_killed() {
    use crate::http_executors::checkpoint as executor_checkpoint;
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut orphan = left_by_an_earlier_run(work.path(), &["t1"]);
    let agent = start_agent(&master, work.path(), RETRY).await;
    let started = std::time::Instant::now();
    let status = orphan.wait().expect("reap the orphan");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert!(
        started.elapsed() >= crate::config::DEFAULT_REREGISTRATION_TIMEOUT / 2,
        "the executor was given time to subscribe again"
    );
    master
        .wait_until("t1 to fail", |m| {
            m.states_of("t1").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("t1").pop().expect("a status");
    assert_eq!(
        failed.reason.as_deref(),
        Some("REASON_EXECUTOR_REREGISTRATION_TIMEOUT")
    );
    for _ in 0..250 {
        if !executor_checkpoint::dir(work.path(), "executor-container").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!executor_checkpoint::dir(work.path(), "executor-container").exists());
    agent.shutdown().await;
}

/// `--recover=reconnect`: the restarted agent adopts the executor left running; it
/// subscribes again with an update the old agent never got (t2 finished while the agent
/// was down), which reaches the framework; t1 keeps running past the reregistration
/// timeout, and the executor lives on.
// Multi-threaded: the test blocks on wait() while the agent's timers run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_subscribes_again_after_a_restart_and_keeps_its_tasks() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut orphan = left_by_an_earlier_run(work.path(), &["t1", "t2"]);
    let agent = start_agent(&master, work.path(), RETRY).await;

    let url = format!("http://{}/api/v1/executor", agent.addr);
    let http = corral_client::client_tls::client();
    let uuid = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    let finished = json!({
        "task_id": {"value": "t2"}, "state": "TASK_FINISHED", "uuid": uuid,
        "source": "SOURCE_EXECUTOR", "executor_id": {"value": EXECUTOR}
    });
    let call = json!({
        "type": "SUBSCRIBE",
        "framework_id": {"value": FRAMEWORK},
        "executor_id": {"value": EXECUTOR},
        "subscribe": {
            "unacknowledged_tasks": [],
            "unacknowledged_updates": [{
                "framework_id": {"value": FRAMEWORK},
                "status": finished,
            }]
        }
    });
    let stream = http
        .post(&url)
        .header("content-type", "application/json")
        .body(call.to_string())
        .send()
        .await
        .expect("agent answers");
    assert_eq!(stream.status().as_u16(), 200);
    let mut executor = Executor {
        url,
        http,
        stream,
        decoder: Decoder::default(),
    };
    let subscribed = executor.next_event().await;
    assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
    master
        .wait_until("t2's true state", |m| {
            m.states_of("t2").contains(&TaskState::TaskFinished)
        })
        .await;
    let t2 = master.statuses_of("t2").pop().expect("a status");
    assert_eq!(t2.source, Some(StatusSource::SourceExecutor));

    tokio::time::sleep(crate::config::DEFAULT_REREGISTRATION_TIMEOUT + Duration::from_millis(800))
        .await;
    assert!(is_alive(orphan.id() as i32), "the executor lives on");
    assert!(
        !master.states_of("t1").iter().any(|s| s.is_terminal()),
        "t1 keeps running: {:?}",
        master.states_of("t1")
    );
    executor.update("t1", "TASK_FINISHED", None).await;
    master
        .wait_until("t1 to finish", |m| {
            m.states_of("t1").contains(&TaskState::TaskFinished)
        })
        .await;
    // The agent's server waits for open streams when it stops.
    drop(executor);
    agent.shutdown().await;
    let _ = orphan.kill();
    let _ = orphan.wait();
}

/// `--executor-reregistration-timeout` (a Mesos duration): with a longer timeout than Mesos' 2 s default,
/// an executor that has not subscribed again yet is still waited for past the default.
// Multi-threaded: the agent's timers run while the test sleeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reregistration_timeout_is_the_configured_one() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut orphan = left_by_an_earlier_run(work.path(), &["t1"]);
    let mut config = config(&master, work.path(), RETRY);
    config.recovery.executor_reregistration_timeout = Duration::from_secs(3600);
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    tokio::time::sleep(crate::config::DEFAULT_REREGISTRATION_TIMEOUT + Duration::from_secs(1))
        .await;
    assert!(
        is_alive(orphan.id() as i32),
        "the executor is still waited for"
    );
    assert!(
        !master.states_of("t1").iter().any(|s| s.is_terminal()),
        "t1 is not failed yet: {:?}",
        master.states_of("t1")
    );
    agent.shutdown().await;
    let _ = orphan.kill();
    let _ = orphan.wait();
}
