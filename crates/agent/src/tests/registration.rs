//! Registration, the saved agent id, and re-registration after a broken stream or a restart.

use std::time::Duration;

use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::support::*;
use corral_api::resources::Resources;
use corral_api::v1::{AgentId, TaskState};

const RETRY: Duration = Duration::from_secs(1);

#[tokio::test]
async fn registers_reports_its_resources_and_saves_the_id() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;

    let first = master.subscriptions()[0].clone();
    assert_eq!(first.agent_id, None, "a new agent has no id yet");
    assert_eq!(first.info.hostname, "localhost");
    assert_eq!(first.info.port, Some(u32::from(agent.addr.port())));
    let total = Resources::from_list(&first.info.resources);
    assert_eq!(
        total.scalar("cpus"),
        2.0,
        "--resources replaces detected cpus"
    );
    assert_eq!(total.scalar("mem"), 1024.0);
    assert!(total.scalar("disk") >= 0.0);
    assert!(
        first.info.resources.iter().any(|r| r.name == "ports"),
        "default ports are kept: {:?}",
        first.info.resources
    );
    assert_eq!(first.info.attributes[0].name, "rack");
    assert!(first.tasks.is_empty());

    assert_eq!(agent_id_saved(work.path()).await.value, ASSIGNED_ID);
    let state = agent_state(&agent).await;
    assert_eq!(state["id"]["value"], ASSIGNED_ID);
    agent.shutdown().await;
}

#[tokio::test]
async fn resubscribes_with_its_id_and_running_tasks_after_the_stream_breaks() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task("long", "long", "sleep 30", None));
    master
        .wait_until("long to run", |m| {
            m.states_of("long").contains(&TaskState::TaskRunning)
        })
        .await;

    master.break_stream();
    master
        .wait_until("a second subscription", |m| m.subscriptions().len() >= 2)
        .await;
    let again = master.subscriptions()[1].clone();
    assert_eq!(again.agent_id, Some(AgentId::new(ASSIGNED_ID)));
    assert_eq!(again.info.id, Some(AgentId::new(ASSIGNED_ID)));
    assert_eq!(again.tasks.len(), 1, "the running task is reported");
    assert_eq!(again.tasks[0].task_id.value, "long");
    assert_eq!(again.tasks[0].state, TaskState::TaskRunning);
    assert_eq!(again.frameworks.len(), 1);
    assert_eq!(
        again.frameworks[0].id.as_ref().map(|i| i.value.as_str()),
        Some(FRAMEWORK)
    );

    // Commands on the new stream still reach the task.
    wait_registered(&agent).await;
    master.send(kill("long"));
    master
        .wait_until("long to be killed", |m| {
            m.states_of("long").contains(&TaskState::TaskKilled)
        })
        .await;
    agent.shutdown().await;
}

#[tokio::test]
async fn reregisters_with_the_saved_id_after_a_restart() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let first_port = agent.addr.port();
    agent.shutdown().await;
    assert!(
        crate::tests::support::http_get(format!("http://127.0.0.1:{first_port}/health"))
            .await
            .is_err(),
        "a stopped agent no longer serves"
    );

    let agent = registered_agent(&master, work.path(), RETRY).await;
    let subscriptions = master.subscriptions();
    let last = subscriptions.last().expect("a subscription");
    assert_eq!(subscriptions.len(), 2);
    assert_eq!(last.agent_id, Some(AgentId::new(ASSIGNED_ID)));
    assert!(last.tasks.is_empty(), "tasks are not recovered yet");
    agent.shutdown().await;
}

#[tokio::test]
async fn keeps_serving_while_the_master_is_unreachable() {
    // A port held for the whole test and never answered: no other test can take it (a
    // dropped listener's port could be reused by a server running in parallel).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = silent.local_addr().expect("its address").port();
    let work = tempfile::tempdir().expect("temp dir");
    let master = FakeMaster::start(true).await;
    let mut config = config(&master, work.path(), RETRY);
    config.master = format!("127.0.0.1:{port}");
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts without a master");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = agent_state(&agent).await;
    assert_eq!(state["registered"], false);
    assert_eq!(state["id"], serde_json::Value::Null);
    agent.shutdown().await;
    drop(silent);
}

#[tokio::test]
async fn a_silent_stream_is_taken_as_broken() {
    // The fake master pings every 5 s; with a 300 ms silence limit the agent must reconnect.
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let tuning = crate::Tuning {
        stream_silence: Duration::from_millis(300),
    };
    let agent = crate::start(
        config(&master, work.path(), RETRY),
        super::fake_executor::factory(),
        tuning,
    )
    .await
    .expect("agent starts");
    master
        .wait_until("a re-subscription after silence", |m| {
            m.subscriptions().len() >= 2
        })
        .await;
    assert_eq!(
        master.subscriptions()[1].agent_id,
        Some(AgentId::new(ASSIGNED_ID))
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn dropping_the_handle_does_not_stop_the_agent() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let addr = agent.addr;
    drop(agent);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = crate::tests::support::http_get(format!("http://{addr}/health"))
        .await
        .expect("agent still serves");
    assert_eq!(health.status(), 200);
    master.send(shell_task("after-drop", "after-drop", "true", None));
    master
        .wait_until("the task to finish", |m| {
            m.states_of("after-drop").contains(&TaskState::TaskFinished)
        })
        .await;
}
