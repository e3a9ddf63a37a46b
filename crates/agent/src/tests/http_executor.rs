//! Mesos HTTP executors: the agent starts the executor's real process with the Mesos
//! environment; the test plays the executor's library (an HTTP client of /api/v1/executor).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::fake_master::{ASSIGNED_ID, FakeMaster};
use super::support::*;
use corral_api::agent_protocol::AgentCommand;
use corral_api::recordio::Decoder;
use corral_api::v1::{
    AgentId, CommandInfo, ExecutorInfo, FrameworkId, FrameworkInfo, Id, StatusSource, TaskId,
    TaskInfo, TaskState,
};

pub(super) const RETRY: Duration = Duration::from_secs(1);
pub(super) const EXECUTOR: &str = "exec-1";

/// The executor's command: records its environment and pid, then idles like a library
/// waiting on its event stream; it exits on SIGTERM.
pub(super) const EXECUTOR_COMMAND: &str = "env > env.txt; echo $$ > pid; exec sleep 600";

pub(super) fn executor_task(id: &str, command: &str) -> AgentCommand {
    AgentCommand::RunTask {
        framework: Box::new(FrameworkInfo {
            user: "test".into(),
            name: "executor tests".into(),
            id: Some(FrameworkId::new(FRAMEWORK)),
            ..Default::default()
        }),
        task: Box::new(TaskInfo {
            name: id.into(),
            task_id: TaskId::new(id),
            agent_id: AgentId::new(ASSIGNED_ID),
            executor: Some(ExecutorInfo {
                kind: Some("CUSTOM".into()),
                executor_id: Id::new(EXECUTOR),
                command: Some(CommandInfo {
                    shell: Some(true),
                    value: Some(command.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            data: Some(base64::engine::general_purpose::STANDARD.encode(format!("data of {id}"))),
            ..Default::default()
        }),
    }
}

pub(super) fn sandbox(work: &Path) -> PathBuf {
    work.join("sandboxes")
        .join(FRAMEWORK)
        .join("executors")
        .join(EXECUTOR)
}

/// The test's executor library: an event stream and calls.
pub(super) struct Executor {
    pub(super) url: String,
    pub(super) http: reqwest::Client,
    pub(super) stream: reqwest::Response,
    pub(super) decoder: Decoder,
}

impl Executor {
    async fn subscribe(agent: &crate::AgentHandle) -> Executor {
        let (status, executor) =
            Executor::try_subscribe(agent, corral_client::client_tls::client()).await;
        assert_eq!(status, 200);
        let executor = executor.expect("subscribed");
        assert_eq!(
            executor.stream.headers()["content-type"]
                .to_str()
                .expect("ascii"),
            "application/json"
        );
        executor
    }

    /// SUBSCRIBE as this test's executor with `http` (which may carry a token): the answer's
    /// status, and the executor when it is 200.
    pub(super) async fn try_subscribe(
        agent: &crate::AgentHandle,
        http: reqwest::Client,
    ) -> (u16, Option<Executor>) {
        let url = format!("http://{}/api/v1/executor", agent.addr);
        let call = json!({
            "type": "SUBSCRIBE",
            "framework_id": {"value": FRAMEWORK},
            "executor_id": {"value": EXECUTOR},
            "subscribe": {"unacknowledged_tasks": [], "unacknowledged_updates": []}
        });
        let stream = http
            .post(&url)
            .json(&call)
            .send()
            .await
            .expect("agent answers SUBSCRIBE");
        let status = stream.status().as_u16();
        let executor = (status == 200).then(|| Executor {
            url,
            http,
            stream,
            decoder: Decoder::default(),
        });
        (status, executor)
    }

    /// The next event that is not a HEARTBEAT.
    pub(super) async fn next_event(&mut self) -> Value {
        loop {
            if let Some(record) = self.decoder.next_record().expect("RecordIO") {
                let event: Value = serde_json::from_slice(&record).expect("event is JSON");
                if event["type"] != "HEARTBEAT" {
                    return event;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.stream.chunk())
                .await
                .expect("an event within 20 s")
                .expect("stream readable")
                .expect("stream still open");
            self.decoder.feed(&chunk);
        }
    }

    pub(super) async fn call(&self, body: Value) -> (u16, String) {
        self.call_raw(body.to_string()).await
    }

    async fn call_raw(&self, body: String) -> (u16, String) {
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("agent answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Sends an UPDATE; returns its uuid.
    pub(super) async fn update(&self, task: &str, state: &str, data: Option<&str>) -> String {
        let uuid =
            base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
        let mut status = json!({"task_id": {"value": task}, "state": state, "uuid": uuid});
        if let Some(data) = data {
            status["data"] = json!(base64::engine::general_purpose::STANDARD.encode(data));
        }
        let (code, body) = self
            .call(json!({
                "type": "UPDATE",
                "framework_id": {"value": FRAMEWORK},
                "executor_id": {"value": EXECUTOR},
                "update": {"status": status}
            }))
            .await;
        assert_eq!(code, 202, "{body}");
        uuid
    }
}

/// Waits up to 10 s for the process to be gone (or a zombie).
pub(super) async fn wait_gone(pid: i32) {
    for _ in 0..500 {
        if !is_alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("process {pid} still runs");
}

pub(super) fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| !r.starts_with('Z')))
        .unwrap_or(false)
}

#[tokio::test]
async fn an_http_executor_runs_two_tasks_and_is_shut_down_with_its_framework() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(executor_task("t1", EXECUTOR_COMMAND));
    master.send(executor_task("t2", EXECUTOR_COMMAND));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");

    // One process for both tasks, with the Mesos executor environment.
    let env = std::fs::read_to_string(sandbox(work.path()).join("env.txt")).expect("env.txt");
    let sandbox_text = sandbox(work.path()).display().to_string();
    for expected in [
        format!("MESOS_EXECUTOR_ID={EXECUTOR}"),
        format!("MESOS_FRAMEWORK_ID={FRAMEWORK}"),
        format!("MESOS_AGENT_ENDPOINT=127.0.0.1:{}", agent.addr.port()),
        format!("MESOS_DIRECTORY={sandbox_text}"),
        format!("MESOS_SANDBOX={sandbox_text}"),
        "MESOS_CHECKPOINT=0".to_string(),
        "MESOS_HTTP_COMMAND_EXECUTOR=0".to_string(),
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs".to_string(),
        "MESOS_SUBSCRIPTION_BACKOFF_MAX=".to_string(),
    ] {
        assert!(
            env.lines().any(|l| l.starts_with(&expected)),
            "{expected} missing in\n{env}"
        );
    }

    let mut executor = Executor::subscribe(&agent).await;
    let subscribed = executor.next_event().await;
    assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
    let s = &subscribed["subscribed"];
    assert_eq!(s["executor_info"]["executor_id"]["value"], EXECUTOR);
    assert_eq!(s["framework_info"]["id"]["value"], FRAMEWORK);
    assert_eq!(s["agent_info"]["id"]["value"], ASSIGNED_ID);
    assert!(
        s["container_id"]["value"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );

    // Tasks queued until the subscription arrive as LAUNCH; each runs, then finishes.
    let mut uuids = Vec::new();
    for _ in 0..2 {
        let launch = executor.next_event().await;
        assert_eq!(launch["type"], "LAUNCH", "{launch}");
        let task = launch["launch"]["task"]["task_id"]["value"]
            .as_str()
            .expect("task id")
            .to_string();
        uuids.push((
            task.clone(),
            executor.update(&task, "TASK_RUNNING", None).await,
        ));
        let done = format!("{task} done");
        uuids.push((
            task.clone(),
            executor.update(&task, "TASK_FINISHED", Some(&done)).await,
        ));
    }
    // The framework's acknowledgements come back as ACKNOWLEDGED, in order per task.
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 4 {
        let event = executor.next_event().await;
        assert_eq!(event["type"], "ACKNOWLEDGED", "{event}");
        let a = &event["acknowledged"];
        acknowledged.push((
            a["task_id"]["value"].as_str().expect("task id").to_string(),
            a["uuid"].as_str().expect("uuid").to_string(),
        ));
    }
    acknowledged.sort();
    uuids.sort();
    assert_eq!(acknowledged, uuids);

    for task in ["t1", "t2"] {
        assert_eq!(
            master.states_of(task),
            vec![TaskState::TaskRunning, TaskState::TaskFinished]
        );
        let finished = master.statuses_of(task).pop().expect("a status");
        assert_eq!(finished.source, Some(StatusSource::SourceExecutor));
        assert_eq!(
            finished.executor_id.map(|e| e.value),
            Some(EXECUTOR.to_string())
        );
        let data = base64::engine::general_purpose::STANDARD
            .decode(finished.data.expect("data"))
            .expect("base64");
        assert_eq!(
            String::from_utf8(data).expect("utf8"),
            format!("{task} done")
        );
    }
    assert!(
        is_alive(pid),
        "the executor outlives its finished tasks until shut down"
    );

    // Framework teardown: SHUTDOWN; the executor exits on it and is gone.
    master.send(AgentCommand::ShutdownFramework {
        framework_id: FrameworkId::new(FRAMEWORK),
    });
    let shutdown = executor.next_event().await;
    assert_eq!(shutdown["type"], "SHUTDOWN", "{shutdown}");
    let _ = crate::processes::signal_group(pid as u32, libc::SIGTERM);
    wait_gone(pid).await;
    agent.shutdown().await;
}

#[tokio::test]
async fn bad_executor_calls_are_refused_and_the_agent_keeps_serving() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(executor_task("t1", EXECUTOR_COMMAND));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    let executor = Executor::subscribe(&agent).await;

    let (code, body) = executor.call_raw("{not json".into()).await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = executor
        .call(json!({"type": "UPDATE", "framework_id": {"value": "nope"},
            "executor_id": {"value": EXECUTOR}, "update": {"status":
            {"task_id": {"value": "t1"}, "state": "TASK_RUNNING", "uuid": "AAAA"}}}))
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Framework cannot be found: nope"), "{body}");
    let (code, body) = executor
        .call(
            json!({"type": "SUBSCRIBE", "framework_id": {"value": FRAMEWORK},
            "executor_id": {"value": "other"}}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Executor cannot be found: other"), "{body}");
    let (code, body) = executor
        .call(
            json!({"type": "UPDATE", "framework_id": {"value": FRAMEWORK},
            "executor_id": {"value": EXECUTOR}, "update": {"status":
            {"task_id": {"value": "t1"}, "state": "TASK_RUNNING"}}}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("uuid"), "{body}");
    let (code, body) = executor
        .call(
            json!({"type": "UPDATE", "framework_id": {"value": FRAMEWORK},
            "executor_id": {"value": EXECUTOR}, "update": {"status":
            {"task_id": {"value": "t9"}, "state": "TASK_RUNNING", "uuid": "AAAA"}}}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(
        master.statuses_of("t1").is_empty(),
        "a refused call sent nothing"
    );

    // Still serving: a good update goes through.
    executor.update("t1", "TASK_RUNNING", None).await;
    master
        .wait_until("t1 to run", |m| {
            m.states_of("t1").contains(&TaskState::TaskRunning)
        })
        .await;
    agent.shutdown().await;
    wait_gone(pid).await;
}

#[tokio::test]
async fn killing_the_last_task_shuts_the_executor_down() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(executor_task("t1", EXECUTOR_COMMAND));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    let mut executor = Executor::subscribe(&agent).await;
    assert_eq!(executor.next_event().await["type"], "SUBSCRIBED");
    assert_eq!(executor.next_event().await["type"], "LAUNCH");
    executor.update("t1", "TASK_RUNNING", None).await;
    assert_eq!(executor.next_event().await["type"], "ACKNOWLEDGED");

    master.send(kill("t1"));
    let killing = executor.next_event().await;
    assert_eq!(killing["type"], "KILL", "{killing}");
    assert_eq!(killing["kill"]["task_id"]["value"], "t1");
    executor.update("t1", "TASK_KILLED", None).await;
    let mut saw_shutdown = false;
    for _ in 0..3 {
        if executor.next_event().await["type"] == "SHUTDOWN" {
            saw_shutdown = true;
            break;
        }
    }
    assert!(saw_shutdown, "no SHUTDOWN after the last task was killed");
    // This executor ignores SHUTDOWN: the agent kills it after the grace period.
    wait_gone(pid).await;
    assert_eq!(
        master.states_of("t1"),
        vec![TaskState::TaskRunning, TaskState::TaskKilled]
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn an_executor_that_never_subscribes_is_killed_and_its_task_fails() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut config = config(&master, work.path(), RETRY);
    config.executor_registration_timeout = Duration::from_millis(1500);
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    master.send(executor_task("t1", EXECUTOR_COMMAND));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    master
        .wait_until("t1 to fail", |m| {
            m.states_of("t1").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("t1").pop().expect("a status");
    assert_eq!(
        failed.reason.as_deref(),
        Some("REASON_EXECUTOR_REGISTRATION_TIMEOUT")
    );
    wait_gone(pid).await;
    agent.shutdown().await;
}

#[tokio::test]
async fn an_executor_that_exits_fails_its_tasks() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(executor_task("t1", "exit 3"));
    master
        .wait_until("t1 to fail", |m| {
            m.states_of("t1").contains(&TaskState::TaskFailed)
        })
        .await;
    let failed = master.statuses_of("t1").pop().expect("a status");
    assert_eq!(failed.reason.as_deref(), Some("REASON_EXECUTOR_TERMINATED"));
    assert!(
        failed
            .message
            .as_deref()
            .is_some_and(|m| m.contains("status 3")),
        "{failed:?}"
    );
    // A new task for the same executor id starts a new executor process.
    master.send(executor_task("t2", EXECUTOR_COMMAND));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    assert!(is_alive(pid));
    agent.shutdown().await;
}

/// An executor task with resources for the executor and for the task.
fn sized_executor_task(id: &str, executor: &str, task: &str) -> AgentCommand {
    let mut command = executor_task(id, EXECUTOR_COMMAND);
    if let AgentCommand::RunTask { task: info, .. } = &mut command {
        info.resources = corral_api::resources::parse_resources(task).expect("task resources");
        if let Some(executor_info) = info.executor.as_mut() {
            executor_info.resources =
                corral_api::resources::parse_resources(executor).expect("executor resources");
        }
    }
    command
}

/// The container's memory limit as its v1 memory cgroup says it.
fn memory_cgroup_limit(cgroup_root: &Path, container_id: &str) -> Option<u64> {
    let root = Path::new("/sys/fs/cgroup/memory").join(cgroup_root);
    let agents = std::fs::read_dir(root).ok()?;
    agents.flatten().find_map(|agent| {
        let file = agent
            .path()
            .join(container_id)
            .join("memory.limit_in_bytes");
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    })
}

/// GET_CONTAINERS lists one entry, the executor's container, with these limits (as its
/// memory cgroup has them).
async fn expect_size(
    agent: &crate::AgentHandle,
    cgroup_root: &Path,
    container_id: &str,
    cpus: f64,
    mem: u64,
) {
    let all = containers(agent).await;
    assert_eq!(all.len(), 1, "one entry for the executor: {all:?}");
    let entry = &all[0];
    assert_eq!(entry["executor_id"]["value"], EXECUTOR, "{entry}");
    assert_eq!(entry["container_id"]["value"], container_id, "{entry}");
    let stats = &entry["resource_statistics"];
    let cpus_limit = stats["cpus_limit"].as_f64().expect("cpus_limit");
    assert!((cpus_limit - cpus).abs() < 1e-9, "{stats}");
    assert_eq!(stats["mem_limit_bytes"], mem, "{stats}");
    assert!(
        stats["processes"].as_u64().is_some_and(|p| p >= 1),
        "{stats}"
    );
    assert_eq!(
        memory_cgroup_limit(cgroup_root, container_id),
        Some(mem),
        "the cgroup's limit"
    );
}

/// The executor's container is what GET_CONTAINERS lists (its tasks share it), sized to the
/// executor's resources plus its live tasks': it grows as a task arrives and shrinks as one
/// ends, in the cgroup as in the answer.
#[tokio::test]
async fn an_executor_container_is_listed_and_sized_to_its_live_tasks() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!("skipped: needs root and the cgroup v1 memory controller");
        return;
    }
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut config = config(&master, work.path(), RETRY);
    let cgroup_root = PathBuf::from(format!("corral-test-{}", uuid::Uuid::new_v4()));
    config.isolation = corral_cgroups::IsolationConfig {
        mode: corral_cgroups::IsolationMode::Cgroups,
        cgroup_root: cgroup_root.clone(),
        pids_limit: 100,
    };
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts with cgroups");
    wait_registered(&agent).await;
    master.send(sized_executor_task(
        "t1",
        "cpus:0.1;mem:32",
        "cpus:0.5;mem:64",
    ));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    let mut executor = Executor::subscribe(&agent).await;
    let subscribed = executor.next_event().await;
    let container_id = subscribed["subscribed"]["container_id"]["value"]
        .as_str()
        .expect("container id")
        .to_string();
    assert_eq!(executor.next_event().await["type"], "LAUNCH");
    executor.update("t1", "TASK_RUNNING", None).await;

    let mb = |n: u64| n << 20;
    expect_size(&agent, &cgroup_root, &container_id, 0.6, mb(96)).await;

    master.send(sized_executor_task(
        "t2",
        "cpus:0.1;mem:32",
        "cpus:0.5;mem:128",
    ));
    while executor.next_event().await["type"] != "LAUNCH" {}
    executor.update("t2", "TASK_RUNNING", None).await;
    expect_size(&agent, &cgroup_root, &container_id, 1.1, mb(224)).await;

    executor.update("t1", "TASK_FINISHED", None).await;
    expect_size(&agent, &cgroup_root, &container_id, 0.6, mb(160)).await;

    master.send(AgentCommand::ShutdownFramework {
        framework_id: FrameworkId::new(FRAMEWORK),
    });
    let _ = crate::processes::signal_group(pid as u32, libc::SIGTERM);
    wait_gone(pid).await;
    agent.shutdown().await;
}

/// The executor's container gets the isolator plugins' plans as a command task's does: the
/// plugin sees the executor's and its first task's resources, its environment reaches the
/// executor, and the plugin cleans up when the executor is gone.
#[tokio::test]
async fn an_executor_container_gets_isolator_plans_and_is_cleaned_up() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut config = config(&master, work.path(), RETRY);
    let cleaned = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    config.isolators = corral_plugin_host::isolator::IsolatorSet::new(
        vec![super::isolator_usage::reporting(
            "seer",
            Some(Vec::new()),
            cleaned.clone(),
        )],
        "/".into(),
    );
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    master.send(sized_executor_task(
        "t1",
        "cpus:0.1;mem:32",
        "cpus:0.5;mem:64",
    ));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    let env = std::fs::read_to_string(sandbox(work.path()).join("env.txt")).expect("env.txt");
    assert!(
        env.lines().any(|l| l == "ISOLATOR_SAW_CPUS=0.6"),
        "the plan's environment, from the executor's and the task's cpus:\n{env}"
    );
    let mut executor = Executor::subscribe(&agent).await;
    let subscribed = executor.next_event().await;
    let container_id = subscribed["subscribed"]["container_id"]["value"]
        .as_str()
        .expect("container id")
        .to_string();
    assert!(cleaned.lock().expect("lock").is_empty());

    let _ = crate::processes::signal_group(pid as u32, libc::SIGKILL);
    wait_gone(pid).await;
    for _ in 0..500 {
        if !cleaned.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*cleaned.lock().expect("lock"), vec![container_id]);
    agent.shutdown().await;
}

/// An executor built on Mesos' generated classes: SUBSCRIBE and UPDATE in protobuf
/// (executor.proto), events as RecordIO of protobuf records.
#[tokio::test]
async fn an_executor_speaks_protobuf() {
    use corral_mesos_proto::names::{EXECUTOR_CALL, EXECUTOR_EVENT};
    const PROTOBUF: &str = "application/x-protobuf";

    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let agent = registered_agent(&master, work.path(), RETRY).await;
    master.send(executor_task("t1", EXECUTOR_COMMAND));
    let pid: i32 = read_when_written(&sandbox(work.path()).join("pid"))
        .await
        .parse()
        .expect("pid");
    let url = format!("http://{}/api/v1/executor", agent.addr);
    let http = corral_client::client_tls::client();
    let subscribe = corral_mesos_proto::encode(
        EXECUTOR_CALL,
        &json!({"type": "SUBSCRIBE", "framework_id": {"value": FRAMEWORK},
            "executor_id": {"value": EXECUTOR}, "subscribe": {}}),
    )
    .expect("SUBSCRIBE encodes");
    let mut stream = http
        .post(&url)
        .header("Content-Type", PROTOBUF)
        .header("Accept", "application/recordio")
        .header("Message-Accept", PROTOBUF)
        .body(subscribe)
        .send()
        .await
        .expect("agent answers SUBSCRIBE");
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "application/recordio");
    assert_eq!(stream.headers()["message-content-type"], PROTOBUF);
    let mut decoder = Decoder::default();
    let mut events = Vec::new();
    while !events.iter().any(|e: &Value| e["type"] == "LAUNCH") {
        if let Some(record) = decoder.next_record().expect("RecordIO") {
            events.push(corral_mesos_proto::decode(EXECUTOR_EVENT, &record).expect("an Event"));
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.chunk())
            .await
            .expect("an event within 20 s")
            .expect("stream readable")
            .expect("stream still open");
        decoder.feed(&chunk);
    }
    assert_eq!(events[0]["type"], "SUBSCRIBED", "{events:?}");
    assert_eq!(
        events[0]["subscribed"]["executor_info"]["executor_id"]["value"],
        EXECUTOR
    );
    let launch = events
        .iter()
        .find(|e| e["type"] == "LAUNCH")
        .expect("LAUNCH");
    assert_eq!(launch["launch"]["task"]["task_id"]["value"], "t1");

    let uuid = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    let update = corral_mesos_proto::encode(
        EXECUTOR_CALL,
        &json!({"type": "UPDATE", "framework_id": {"value": FRAMEWORK},
            "executor_id": {"value": EXECUTOR}, "update": {"status":
            {"task_id": {"value": "t1"}, "state": "TASK_RUNNING", "uuid": uuid}}}),
    )
    .expect("UPDATE encodes");
    let answer = http
        .post(&url)
        .header("Content-Type", PROTOBUF)
        .body(update)
        .send()
        .await
        .expect("agent answers UPDATE");
    assert_eq!(answer.status(), 202);
    master
        .wait_until("t1 to run", |m| {
            m.states_of("t1").contains(&TaskState::TaskRunning)
        })
        .await;
    drop(stream);
    agent.shutdown().await;
    wait_gone(pid).await;
}
