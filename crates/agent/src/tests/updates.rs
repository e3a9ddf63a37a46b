//! Reliable status updates: resent until acknowledged, in order, across agent restarts.

use std::time::Duration;

use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::support::*;
use corral_api::v1::{AgentId, TaskState};

const RETRY: Duration = Duration::from_millis(200);

/// The latest update the master received for `task`.
fn last_update(master: &FakeMaster, task: &str) -> corral_api::agent_protocol::StatusUpdateMessage {
    master
        .updates()
        .into_iter()
        .rfind(|u| u.status.task_id.value == task)
        .expect("an update")
}

#[tokio::test]
async fn updates_are_resent_until_acknowledged_and_stay_in_order() {
    let master = FakeMaster::start(false).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task("t", "t", "true", None));

    for expected in [
        TaskState::TaskStarting,
        TaskState::TaskRunning,
        TaskState::TaskFinished,
    ] {
        master
            .wait_until("the update to be sent three times", |m| {
                m.statuses_of("t")
                    .iter()
                    .filter(|s| s.state == expected)
                    .count()
                    >= 3
            })
            .await;
        let head = last_update(&master, "t");
        assert_eq!(
            head.status.state, expected,
            "nothing newer is sent before the ack"
        );
        let resends: Vec<_> = master
            .statuses_of("t")
            .into_iter()
            .filter(|s| s.state == expected)
            .map(|s| s.uuid)
            .collect();
        assert!(
            resends.iter().all(|u| u == &head.status.uuid),
            "a resend keeps its uuid"
        );
        master.acknowledge(&head);
    }
    for _ in 0..100 {
        if agent_state(&agent).await["pending_status_updates"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(agent_state(&agent).await["pending_status_updates"], 0);
    // A resend already on its way when the ack landed may still arrive: count after it.
    tokio::time::sleep(RETRY).await;
    let sent = master.updates().len();
    tokio::time::sleep(RETRY * 3).await;
    assert_eq!(
        master.updates().len(),
        sent,
        "acknowledged updates are not resent"
    );
    assert_eq!(
        master.states_of("t"),
        vec![
            TaskState::TaskStarting,
            TaskState::TaskRunning,
            TaskState::TaskFinished
        ]
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn pending_updates_survive_an_agent_restart_and_are_resent() {
    let master = FakeMaster::start(false).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task("t", "t", "true", None));
    for _ in 0..250 {
        if agent_state(&agent).await["pending_status_updates"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(agent_state(&agent).await["pending_status_updates"], 3);
    // The head is sent once it is on disk (checkpointed before it is forwarded, as Mesos
    // does), which may be a moment after all three are queued.
    master
        .wait_until("the first update to be sent", |m| {
            !m.statuses_of("t").is_empty()
        })
        .await;
    let starting = last_update(&master, "t");
    assert_eq!(starting.status.state, TaskState::TaskStarting);
    agent.shutdown().await;
    let checkpoint = work.path().join("updates").join(FRAMEWORK).join("t.json");
    assert!(checkpoint.exists(), "pending updates are checkpointed");

    let before = master.updates().len();
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let last = master.subscriptions().pop().expect("re-subscribed");
    assert_eq!(last.agent_id, Some(AgentId::new(ASSIGNED_ID)));
    master
        .wait_until("the pending update to be resent", |m| {
            m.updates().len() > before
        })
        .await;
    let resent = master.updates()[before].clone();
    assert_eq!(
        resent.status.uuid, starting.status.uuid,
        "the same update, not a new one"
    );
    assert_eq!(resent.agent_id.value, ASSIGNED_ID);

    master.set_auto_ack(true);
    master.acknowledge(&resent);
    master
        .wait_until("the rest of the updates", |m| {
            m.states_of("t").contains(&TaskState::TaskFinished)
        })
        .await;
    assert_eq!(
        master.states_of("t"),
        vec![
            TaskState::TaskStarting,
            TaskState::TaskRunning,
            TaskState::TaskFinished
        ]
    );
    for _ in 0..100 {
        if !checkpoint.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !checkpoint.exists(),
        "acknowledged updates leave no checkpoint"
    );
    agent.shutdown().await;
}
