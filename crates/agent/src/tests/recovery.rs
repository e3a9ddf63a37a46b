//! Recovery at start against the fake master: the agent finds checkpointed containers,
//! reports them when it subscribes, and reattaches to or reports each one. The "supervisor"
//! here is a real process the test starts (the agent in-process has no `corral supervise`).

use std::path::Path;
use std::time::Duration;

use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::support::*;
use crate::checkpoint::save_agent_id;
use crate::container_checkpoint::{self, ContainerCheckpoint, ProcessCheckpoint};
use crate::supervisor;
use corral_api::v1::{AgentId, FrameworkId, FrameworkInfo, TaskId, TaskInfo, TaskState, reason};

const RETRY: Duration = Duration::from_millis(200);

/// A `sleep 600` in a process group of its own, standing in for a task's supervisor that
/// outlived the agent, and the checkpoint naming it.
fn live_sleeper() -> (std::process::Child, ProcessCheckpoint) {
    use std::os::unix::process::CommandExt;
    let sleeper = std::process::Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .expect("spawn sleep");
    let pid = sleeper.id();
    let process = ProcessCheckpoint {
        id: 1,
        supervisor_pid: pid,
        supervisor_start: supervisor::start_time(pid).expect("a start time"),
        pgid: pid,
    };
    (sleeper, process)
}

fn checkpoint(work: &Path, task: &str, process: ProcessCheckpoint) -> ContainerCheckpoint {
    ContainerCheckpoint {
        framework: FrameworkInfo {
            id: Some(FrameworkId::new(FRAMEWORK)),
            name: "agent tests".into(),
            ..Default::default()
        },
        task: TaskInfo {
            name: task.into(),
            task_id: TaskId::new(task),
            ..Default::default()
        },
        container_id: format!("container-{task}"),
        sandbox: work.join("sandboxes").join(task),
        cgroup_parent: None,
        process: Some(process),
        state: TaskState::TaskRunning,
        kill_requested: false,
    }
}

/// A process that has already ended (reaped), standing for a supervisor that is gone.
fn gone_process(id: u32) -> ProcessCheckpoint {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("reap true");
    ProcessCheckpoint {
        id,
        supervisor_pid: pid,
        supervisor_start: 1,
        pgid: pid,
    }
}

#[tokio::test]
async fn tasks_that_ended_while_the_agent_was_down_get_their_true_state() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    save_agent_id(work.path(), &AgentId::new(ASSIGNED_ID)).expect("agent id");
    let exited = checkpoint(work.path(), "exited-3", gone_process(1));
    container_checkpoint::save(work.path(), &exited).expect("checkpoint");
    supervisor::write_exit(
        &container_checkpoint::exit_file(work.path(), &exited.container_id, 1),
        crate::processes::ExitOutcome {
            code: Some(3),
            signal: None,
        },
    )
    .expect("exit file");
    let vanished = checkpoint(work.path(), "vanished", gone_process(1));
    container_checkpoint::save(work.path(), &vanished).expect("checkpoint");

    let _agent = registered_agent(&master, work.path(), RETRY).await;
    let reported: Vec<String> = master.subscriptions()[0]
        .tasks
        .iter()
        .map(|t| t.task_id.value.clone())
        .collect();
    assert_eq!(reported, ["exited-3", "vanished"], "reported on subscribe");
    master
        .wait_until("both terminal updates", |m| {
            m.states_of("exited-3").contains(&TaskState::TaskFailed)
                && m.states_of("vanished").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("exited-3").pop().expect("a status");
    assert_eq!(
        failed.message.as_deref(),
        Some("Command exited with status 3")
    );
    let vanished = master.statuses_of("vanished").pop().expect("a status");
    assert_eq!(
        vanished.reason.as_deref(),
        Some(reason::EXECUTOR_TERMINATED)
    );
    // Acknowledged terminal updates take the checkpoints away.
    for _ in 0..100 {
        if container_checkpoint::load_all(work.path()).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the checkpoints of acknowledged tasks are still there");
}

#[tokio::test]
async fn a_live_task_is_reattached_and_a_kill_reaches_its_process_group() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    save_agent_id(work.path(), &AgentId::new(ASSIGNED_ID)).expect("agent id");
    let (mut sleeper, process) = live_sleeper();
    let (pid, started) = (process.supervisor_pid, process.supervisor_start);
    container_checkpoint::save(work.path(), &checkpoint(work.path(), "live", process))
        .expect("checkpoint");

    let _agent = registered_agent(&master, work.path(), RETRY).await;
    let tasks = &master.subscriptions()[0].tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, TaskState::TaskRunning);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(supervisor::is_alive(pid, started), "reattached, not killed");
    assert!(master.states_of("live").is_empty(), "nothing to report yet");

    master.send(kill("live"));
    let status = tokio::task::spawn_blocking(move || sleeper.wait())
        .await
        .expect("joined")
        .expect("waited");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    master
        .wait_until("TASK_KILLED", |m| {
            m.states_of("live").contains(&TaskState::TaskKilled)
        })
        .await;
}

/// A reattached task with a COMMAND check (`test -f healthy` in its sandbox): the agent checks
/// it again, reports it healthy, and kills it (SIGTERM to its process group) once the check
/// fails, with TASK_KILLED healthy=false, as the command executor would have.
#[tokio::test]
async fn a_recovered_task_is_health_checked_and_killed_when_its_check_fails() {
    use corral_api::v1::{CommandInfo, HealthCheck};
    use std::os::unix::process::ExitStatusExt;
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    save_agent_id(work.path(), &AgentId::new(ASSIGNED_ID)).expect("agent id");
    let (mut sleeper, process) = live_sleeper();
    let (pid, started) = (process.supervisor_pid, process.supervisor_start);
    let mut task = checkpoint(work.path(), "checked", process);
    std::fs::create_dir_all(&task.sandbox).expect("sandbox");
    let marker = task.sandbox.join("healthy");
    std::fs::write(&marker, "").expect("marker");
    task.task.health_check = Some(HealthCheck {
        kind: Some("COMMAND".into()),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        timeout_seconds: Some(5.0),
        consecutive_failures: Some(2),
        grace_period_seconds: Some(0.0),
        command: Some(CommandInfo {
            shell: Some(true),
            value: Some("test -f healthy".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    container_checkpoint::save(work.path(), &task).expect("checkpoint");

    let _agent = registered_agent(&master, work.path(), RETRY).await;
    master
        .wait_until("a healthy update", |m| {
            m.statuses_of("checked")
                .iter()
                .any(|s| s.healthy == Some(true))
        })
        .await;
    let healthy = master.statuses_of("checked").remove(0);
    assert_eq!(healthy.state, TaskState::TaskRunning);
    assert_eq!(
        healthy.reason.as_deref(),
        Some(reason::TASK_HEALTH_CHECK_STATUS_UPDATED)
    );
    assert!(supervisor::is_alive(pid, started), "a healthy task runs on");

    std::fs::remove_file(&marker).expect("marker removed");
    master
        .wait_until("TASK_KILLED", |m| {
            m.states_of("checked").contains(&TaskState::TaskKilled)
        })
        .await;
    let status = sleeper.wait().expect("waited");
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    let statuses = master.statuses_of("checked");
    assert!(
        statuses
            .iter()
            .any(|s| s.state == TaskState::TaskRunning && s.healthy == Some(false)),
        "unhealthy reported before the kill: {statuses:?}"
    );
    let killed = statuses.last().expect("a status");
    assert_eq!(killed.state, TaskState::TaskKilled);
    assert_eq!(killed.healthy, Some(false));
    assert_eq!(
        killed.reason.as_deref(),
        Some(reason::TASK_HEALTH_CHECK_STATUS_UPDATED)
    );
    let message = killed.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("2 consecutive failed health checks"),
        "{message}"
    );
}

/// The same with an HTTP check: healthy while a server answers 200 on its port, killed once
/// nothing listens there any more.
#[tokio::test]
async fn a_recovered_task_with_an_http_check_is_killed_when_its_server_goes() {
    use corral_api::v1::{HealthCheck, HttpCheckInfo};
    use std::os::unix::process::ExitStatusExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    save_agent_id(work.path(), &AgentId::new(ASSIGNED_ID)).expect("agent id");
    let (mut sleeper, process) = live_sleeper();
    let mut task = checkpoint(work.path(), "http", process);
    std::fs::create_dir_all(&task.sandbox).expect("sandbox");
    task.task.health_check = Some(HealthCheck {
        kind: Some("HTTP".into()),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        consecutive_failures: Some(1),
        http: Some(HttpCheckInfo {
            port: u32::from(port),
            path: Some("/ok".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    container_checkpoint::save(work.path(), &task).expect("checkpoint");

    let _agent = registered_agent(&master, work.path(), RETRY).await;
    master
        .wait_until("a healthy update", |m| {
            m.statuses_of("http")
                .iter()
                .any(|s| s.healthy == Some(true))
        })
        .await;
    server.abort();
    let _ = server.await;
    master
        .wait_until("TASK_KILLED", |m| {
            m.states_of("http").contains(&TaskState::TaskKilled)
        })
        .await;
    assert_eq!(
        sleeper.wait().expect("waited").signal(),
        Some(libc::SIGTERM)
    );
    let killed = master.statuses_of("http").pop().expect("a status");
    assert_eq!(killed.healthy, Some(false));
    let message = killed.message.as_deref().unwrap_or_default();
    assert!(
        message.contains(&format!("127.0.0.1:{port}/ok")),
        "{message}"
    );
}

/// A stand-in for a supervisor the agent started but had not recorded when it died: its
/// arguments name the container's exit file as `corral supervise`'s do, and its command
/// (`sleep 600`) leads a process group of its own. Returns it and the command's pid.
fn unrecorded_supervisor(exit_file: &Path) -> (std::process::Child, i32) {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(exit_file.parent().expect("container dir")).expect("dir");
    let pid_file = exit_file.with_extension("command");
    let mut child = std::process::Command::new("sh")
        .args(["-c", "setsid sleep 600 & echo $! > \"$0\"; wait"])
        .arg(&pid_file)
        .args([supervisor::SUBCOMMAND, "--exit-file"])
        .arg(exit_file)
        .process_group(0)
        .spawn()
        .expect("spawn the stand-in supervisor");
    for _ in 0..500 {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
            && group_members(pid).contains(&pid)
        {
            return (child, pid);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the stand-in supervisor did not start its command");
}

/// The agent died after starting a task's command and before checkpointing its supervisor:
/// the restarted agent finds the supervisor by its exit file and reattaches, instead of
/// reporting a running command as never started.
#[tokio::test]
async fn a_command_started_but_not_recorded_is_found_and_reattached() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    save_agent_id(work.path(), &AgentId::new(ASSIGNED_ID)).expect("agent id");
    let mut task = checkpoint(work.path(), "unrecorded", gone_process(1));
    task.process = None;
    task.state = TaskState::TaskStaging;
    container_checkpoint::save(work.path(), &task).expect("checkpoint");
    let exit_file = container_checkpoint::exit_file(work.path(), &task.container_id, 1);
    let (mut stand_in, command) = unrecorded_supervisor(&exit_file);

    let _agent = registered_agent(&master, work.path(), RETRY).await;
    let reported = &master.subscriptions()[0].tasks;
    assert_eq!(reported.len(), 1);
    assert!(!reported[0].state.is_terminal(), "{:?}", reported[0].state);
    assert_eq!(group_members(command), vec![command], "still runs");

    master.send(kill("unrecorded"));
    master
        .wait_until("TASK_KILLED", |m| {
            m.states_of("unrecorded").contains(&TaskState::TaskKilled)
        })
        .await;
    let states = master.states_of("unrecorded");
    assert!(!states.contains(&TaskState::TaskFailed), "{states:?}");
    assert_eq!(
        group_members_after_kill(command).await,
        Vec::<i32>::new(),
        "the kill reached it"
    );
    let _ = stand_in.kill();
    let _ = stand_in.wait();
}

/// Unrecorded starts that are not running: one whose supervisor recorded an exit ran and
/// ended (its true state), one with no trace never started.
#[tokio::test]
async fn an_unrecorded_start_is_reported_as_what_it_left() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    save_agent_id(work.path(), &AgentId::new(ASSIGNED_ID)).expect("agent id");
    for name in ["ran", "never"] {
        let mut task = checkpoint(work.path(), name, gone_process(1));
        task.process = None;
        task.state = TaskState::TaskStaging;
        container_checkpoint::save(work.path(), &task).expect("checkpoint");
    }
    supervisor::write_exit(
        &container_checkpoint::exit_file(work.path(), "container-ran", 1),
        crate::processes::ExitOutcome {
            code: Some(0),
            signal: None,
        },
    )
    .expect("exit file");

    let _agent = registered_agent(&master, work.path(), RETRY).await;
    master
        .wait_until("both terminal updates", |m| {
            m.states_of("ran").contains(&TaskState::TaskFinished)
                && m.states_of("never").contains(&TaskState::TaskFailed)
        })
        .await;
    let ran = master.statuses_of("ran").pop().expect("a status");
    assert_eq!(ran.message.as_deref(), Some("Command exited with status 0"));
    let never = master.statuses_of("never").pop().expect("a status");
    assert_eq!(never.reason.as_deref(), Some(reason::AGENT_RESTARTED));
    assert_eq!(
        never.message.as_deref(),
        Some("The agent restarted before the task's command started")
    );
}
