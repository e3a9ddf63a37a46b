//! An agent the master marked gone (MARK_AGENT_GONE) kills its tasks, forgets its id and
//! stops, whether the master says so on its stream or in the 403 to a later call.

use std::time::Duration;

use super::fake_master::FakeMaster;
use super::support::*;
use crate::checkpoint::read_agent_id;
use crate::{AgentEnd, AgentHandle};
use corral_api::agent_protocol::{AGENT_GONE, AgentCommand};
use corral_api::v1::TaskState;

const RETRY: Duration = Duration::from_secs(1);

/// Starts a `sleep` task; returns its process group.
async fn sleeping_task(master: &FakeMaster, work: &std::path::Path, id: &str) -> i32 {
    master.send(shell_task(id, id, "echo $$ > pid; sleep 100", None));
    master
        .wait_until("the task to run", |m| {
            m.states_of(id).contains(&TaskState::TaskRunning)
        })
        .await;
    let pid_file = find_sandbox(work, id).join("pid");
    read_when_written(&pid_file)
        .await
        .parse::<i32>()
        .expect("a pid")
}

/// How the agent ended; a bound only so that a hang fails the test instead of stalling it.
async fn end_of(agent: AgentHandle) -> AgentEnd {
    tokio::time::timeout(Duration::from_secs(30), agent.wait())
        .await
        .expect("the gone agent stops")
}

#[tokio::test]
async fn told_on_its_stream_a_gone_agent_kills_its_tasks_forgets_its_id_and_stops() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    agent_id_saved(work.path()).await;
    let groups = [
        sleeping_task(&master, work.path(), "a").await,
        sleeping_task(&master, work.path(), "b").await,
    ];
    let subscriptions = master.subscriptions().len();

    master.send(AgentCommand::Shutdown {
        message: AGENT_GONE.to_string(),
    });
    let AgentEnd::Gone(gone) = end_of(agent).await else {
        panic!("the agent stopped without saying it is gone");
    };
    assert_eq!(gone.killed, 2);
    assert_eq!(gone.message, AGENT_GONE);
    assert!(
        gone.to_string().contains("killed 2 tasks, exiting"),
        "{gone}"
    );
    for g in groups {
        assert_eq!(
            group_members_after_kill(g).await,
            Vec::<i32>::new(),
            "group {g} still runs"
        );
    }
    // A restart registers as a new agent: nothing of the gone one is recovered.
    assert_eq!(read_agent_id(work.path()).expect("readable"), None);
    assert!(!work.path().join("meta/containers").exists());
    assert!(!work.path().join("updates").exists());
    assert_eq!(
        master.subscriptions().len(),
        subscriptions,
        "it did not subscribe again"
    );
}

#[tokio::test]
async fn refused_as_gone_when_it_comes_back_an_agent_stops_instead_of_retrying() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let group = sleeping_task(&master, work.path(), "a").await;
    // Marked gone while the agent was away: its next subscription is refused.
    master.refuse_as_gone();
    master.break_stream();
    let AgentEnd::Gone(gone) = end_of(agent).await else {
        panic!("the agent stopped without saying it is gone");
    };
    assert_eq!(gone.killed, 1);
    assert!(gone.message.starts_with(AGENT_GONE), "{}", gone.message);
    assert_eq!(group_members_after_kill(group).await, Vec::<i32>::new());
    assert_eq!(read_agent_id(work.path()).expect("readable"), None);
}

#[tokio::test]
async fn a_restart_after_gone_registers_as_a_new_agent() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(AgentCommand::Shutdown {
        message: AGENT_GONE.to_string(),
    });
    assert!(matches!(end_of(agent).await, AgentEnd::Gone(_)));
    let before = master.subscriptions().len();
    let again = registered_agent(&master, work.path(), RETRY).await;
    let subscription = &master.subscriptions()[before];
    assert_eq!(subscription.agent_id, None, "a fresh registration");
    assert!(subscription.tasks.is_empty());
    again.shutdown().await;
}
