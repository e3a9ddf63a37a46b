//! Real tasks through the fake executor: sandbox and output, exit codes, kills.

use std::time::{Duration, Instant};

use base64::Engine;

use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::support::*;
use corral_api::agent_protocol::AgentCommand;
use corral_api::v1::{FrameworkId, StatusSource, TaskState};

const RETRY: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_shell_task_runs_in_its_sandbox_and_writes_stdout() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let command = "echo hello from $MESOS_TASK_ID; pwd; echo \"$MESOS_SANDBOX\"; echo oops >&2";
    master.send(shell_task("t1", "hello", command, None));
    master
        .wait_until("t1 to finish", |m| {
            m.states_of("t1").contains(&TaskState::TaskFinished)
        })
        .await;
    assert_eq!(
        master.states_of("t1"),
        vec![
            TaskState::TaskStarting,
            TaskState::TaskRunning,
            TaskState::TaskFinished
        ]
    );

    let sandbox = find_sandbox(work.path(), "t1");
    let stdout = std::fs::read_to_string(sandbox.join("stdout")).expect("stdout file");
    let sandbox_text = sandbox.display().to_string();
    assert_eq!(
        stdout,
        format!("hello from t1\n{sandbox_text}\n{sandbox_text}\n")
    );
    let stderr = std::fs::read_to_string(sandbox.join("stderr")).expect("stderr file");
    assert_eq!(stderr, "oops\n");

    let finished = master.statuses_of("t1").pop().expect("a status");
    assert_eq!(finished.source, Some(StatusSource::SourceExecutor));
    assert_eq!(
        finished.agent_id.map(|a| a.value),
        Some(ASSIGNED_ID.to_string())
    );
    assert!(finished.timestamp.is_some_and(|t| t > 1.0e9));
    let uuid = base64::engine::general_purpose::STANDARD
        .decode(finished.uuid.expect("uuid"))
        .expect("uuid is base64");
    assert_eq!(uuid.len(), 16);
    let update = master.updates().pop().expect("an update");
    assert_eq!(update.framework_id, FrameworkId::new(FRAMEWORK));
    assert_eq!(update.agent_id.value, ASSIGNED_ID);

    // Acknowledged to the end: the task is forgotten, its sandbox stays.
    for _ in 0..200 {
        let state = agent_state(&agent).await;
        if state["tasks"].as_array().is_some_and(|t| t.is_empty())
            && state["pending_status_updates"] == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = agent_state(&agent).await;
    assert_eq!(state["tasks"], serde_json::json!([]), "{state}");
    assert!(sandbox.join("stdout").exists());
    agent.shutdown().await;
}

#[tokio::test]
async fn exit_code_3_is_task_failed() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(shell_task("t3", "fails", "exit 3", None));
    master
        .wait_until("t3 to fail", |m| {
            m.states_of("t3").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("t3").pop().expect("a status");
    assert_eq!(failed.state, TaskState::TaskFailed);
    assert_eq!(
        failed.message.as_deref(),
        Some("Command exited with status 3")
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn kill_escalates_to_sigkill_after_the_grace_period() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let grace = Duration::from_millis(1500);
    let command = "trap '' TERM; echo $$ > pid; sleep 100; true";
    master.send(shell_task("stubborn", "stubborn", command, Some(grace)));
    master
        .wait_until("stubborn to run", |m| {
            m.states_of("stubborn").contains(&TaskState::TaskRunning)
        })
        .await;
    let pid_file = find_sandbox(work.path(), "stubborn").join("pid");
    let pgid: i32 = read_when_written(&pid_file).await.parse().expect("a pid");
    // `sleep` must be running too, or a quick exit would make the test pass without a kill.
    for _ in 0..100 {
        if group_members(pgid).len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(group_members(pgid).len(), 2, "shell and sleep run");

    let killed_at = Instant::now();
    master.send(kill("stubborn"));
    tokio::time::sleep(grace / 2).await;
    assert_eq!(
        group_members(pgid).len(),
        2,
        "SIGTERM is ignored, so both still run"
    );
    master
        .wait_until("stubborn to be killed", |m| {
            m.states_of("stubborn").contains(&TaskState::TaskKilled)
        })
        .await;
    assert!(
        killed_at.elapsed() >= grace,
        "SIGKILL came before the grace period ended"
    );
    assert_eq!(
        group_members_after_kill(pgid).await,
        Vec::<i32>::new(),
        "the whole group is gone"
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn kill_of_an_unknown_task_reports_it_lost() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(kill("ghost"));
    master
        .wait_until("ghost to be reported", |m| {
            !m.statuses_of("ghost").is_empty()
        })
        .await;
    let lost = master.statuses_of("ghost").remove(0);
    assert_eq!(lost.state, TaskState::TaskLost);
    assert_eq!(lost.message.as_deref(), Some("task unknown to the agent"));
    assert_eq!(lost.source, Some(StatusSource::SourceAgent));
    agent.shutdown().await;
}

#[tokio::test]
async fn shutdown_framework_kills_all_its_tasks() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    let mut groups = Vec::new();
    for id in ["a", "b"] {
        master.send(shell_task(id, id, "echo $$ > pid; sleep 100", None));
        let pid_file = {
            master
                .wait_until("the task to run", |m| {
                    m.states_of(id).contains(&TaskState::TaskRunning)
                })
                .await;
            find_sandbox(work.path(), id).join("pid")
        };
        groups.push(
            read_when_written(&pid_file)
                .await
                .parse::<i32>()
                .expect("a pid"),
        );
    }
    master.send(AgentCommand::ShutdownFramework {
        framework_id: FrameworkId::new(FRAMEWORK),
    });
    for g in &groups {
        assert_eq!(
            group_members_after_kill(*g).await,
            Vec::<i32>::new(),
            "group {g} still runs"
        );
    }
    for _ in 0..250 {
        if agent_state(&agent).await["tasks"] == serde_json::json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        agent_state(&agent).await["tasks"],
        serde_json::json!([]),
        "framework forgotten"
    );
    agent.shutdown().await;
}
