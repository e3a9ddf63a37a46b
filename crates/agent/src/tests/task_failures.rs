//! A misbehaving executor instance fails its task, naming the plugin, kills what the task
//! runs, and leaves the agent serving.

use std::time::Duration;

use super::fake_executor::{DONE_WITHOUT_STATUS, FAIL_ON_KILL, PLUGIN, TRAP_ON_LAUNCH};
use super::fake_master::FakeMaster;
use super::support::*;
use corral_api::v1::{StatusSource, TaskState, reason};

const RETRY: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_trapping_instance_fails_the_task_and_the_agent_keeps_serving() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task("broken", TRAP_ON_LAUNCH, "sleep 100", None));
    master
        .wait_until("broken to fail", |m| !m.statuses_of("broken").is_empty())
        .await;
    let failed = master.statuses_of("broken").remove(0);
    assert_eq!(failed.state, TaskState::TaskFailed);
    assert_eq!(failed.reason.as_deref(), Some(reason::EXECUTOR_TERMINATED));
    assert_eq!(failed.source, Some(StatusSource::SourceAgent));
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains(PLUGIN) && message.contains("trapped"),
        "{message}"
    );

    let health = crate::tests::support::http_get(format!("http://{}/health", agent.addr))
        .await
        .expect("agent still serves");
    assert_eq!(health.status(), 200);
    master.send(shell_task("fine", "fine", "true", None));
    master
        .wait_until("fine to finish", |m| {
            m.states_of("fine").contains(&TaskState::TaskFinished)
        })
        .await;
    agent.shutdown().await;
}

#[tokio::test]
async fn an_error_while_killing_fails_the_task_and_kills_its_processes() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task(
        "k",
        FAIL_ON_KILL,
        "echo $$ > pid; sleep 100; true",
        None,
    ));
    master
        .wait_until("k to run", |m| {
            m.states_of("k").contains(&TaskState::TaskRunning)
        })
        .await;
    let pgid: i32 = read_when_written(&find_sandbox(work.path(), "k").join("pid"))
        .await
        .parse()
        .expect("a pid");
    master.send(kill("k"));
    master
        .wait_until("k to fail", |m| {
            m.states_of("k").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("k").pop().expect("a status");
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("kill handling is broken"), "{message}");
    assert_eq!(
        group_members_after_kill(pgid).await,
        Vec::<i32>::new(),
        "the task's processes were killed"
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn done_without_a_terminal_status_fails_the_task() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task("d", DONE_WITHOUT_STATUS, "true", None));
    master
        .wait_until("d to fail", |m| {
            m.states_of("d").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("d").remove(0);
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains(PLUGIN) && message.contains("without a terminal status"),
        "{message}"
    );
    assert_eq!(failed.reason.as_deref(), Some(reason::EXECUTOR_TERMINATED));
    agent.shutdown().await;
}

#[tokio::test]
async fn a_factory_error_fails_the_task() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let factory: corral_plugin_host::executor::ExecutorFactory = std::sync::Arc::new(|| {
        Err(corral_plugin_host::PluginError::Instantiate {
            plugin: "no-such-executor".into(),
            reason: "out of instances".into(),
        })
    });
    let agent = crate::run(config(&master, work.path(), RETRY), factory)
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    master.send(shell_task("x", "x", "true", None));
    master
        .wait_until("x to fail", |m| {
            m.states_of("x").contains(&TaskState::TaskFailed)
        })
        .await;
    let message = master
        .statuses_of("x")
        .remove(0)
        .message
        .unwrap_or_default();
    assert!(message.contains("no-such-executor"), "{message}");
    agent.shutdown().await;
}
