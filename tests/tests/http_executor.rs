//! A Mesos HTTP executor library used unchanged: pymesos' MesosExecutorDriver runs the tasks
//! of a pymesos framework on Corral through the agent's `/api/v1/executor`.
//! scripts/setup.sh installs pymesos in a venv ($CORRAL_PY_VENV, default ~/.cache/corral/pyvenv).

use std::path::PathBuf;
use std::time::Duration;

use corral_e2e::task_processes::alive;
use corral_e2e::{Cluster, python};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymesos_executor_runs_two_tasks_exchanges_messages_and_exits_on_shutdown() {
    let cluster = Cluster::dev("cpus:2;mem:2048;disk:1024").await;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/pymesos_executor_framework.py");
    let pid_file = cluster.dir.path().join("executor.pid");
    let out = tokio::process::Command::new(python())
        .arg(&script)
        .arg(&cluster.master_addr)
        .arg(&pid_file)
        .output()
        .await
        .expect("run the pymesos framework");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}\n{}", cluster.logs());
    assert!(out.status.success(), "pymesos framework failed\n{context}");
    assert!(stdout.contains("all 2 tasks finished"), "{context}");
    for i in 1..=2 {
        // The executor's TASK_FINISHED carries data made from the task's own data.
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("exec-task-{i}-")) && l.contains("TASK_FINISHED"))
            .unwrap_or_else(|| panic!("no TASK_FINISHED of task {i}\n{context}"));
        assert!(
            line.contains(&format!("data='done: payload {i}'")),
            "{line}"
        );
        assert!(line.contains("source=SOURCE_EXECUTOR"), "{line}");
        assert!(line.contains("executor=pymesos-executor-"), "{line}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("exec-task-{i}-")) && l.contains("TASK_RUNNING")),
            "{context}"
        );
    }

    // Framework messages go both ways: the executor's own, and its answer to a ping.
    assert!(stdout.contains(": hello from the executor"), "{context}");
    assert!(stdout.contains(": pong: ping"), "{context}");

    // The teardown shut the executor down: its process is gone. It ran as root, in a PID
    // namespace of its own, so the pid it wrote is that namespace's: it is found on the host
    // by the variable it was given.
    assert!(pid_file.exists(), "the executor wrote its pid\n{context}");
    let variable = format!("EXECUTOR_PID_FILE={}", pid_file.display());
    let mut left = Vec::new();
    for _ in 0..300 {
        left = corral_e2e::task_processes::processes_with(&variable);
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        left.is_empty(),
        "the executor still runs after SHUTDOWN: {left:?}\n{context}"
    );
}

/// The next line of the framework's output that `pred` accepts (all lines are kept).
async fn line_where(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {what} in 60 s: {seen:?}"))
            .expect("readable output")
            .unwrap_or_else(|| panic!("the framework exited before {what}: {seen:?}"));
        seen.push(line.clone());
        if pred(&line) {
            return;
        }
    }
}

/// Agent recovery with an unchanged pymesos executor: the agent is `kill -9`'d while the
/// executor runs two tasks. The executor lives on and reconnects to the restarted agent on
/// its own; a task that finishes while the agent is down is reported TASK_FINISHED (the
/// executor retries its update until the new agent takes it), and the other stays RUNNING
/// past the reregistration timeout, then finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pymesos_executor_survives_kill9_of_its_agent() {
    use tokio::io::AsyncBufReadExt;
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:2;mem:1024", &[]).await;
    let gates = tempfile::tempdir().expect("gate dir");
    let pid_file = cluster.dir.path().join("executor.pid");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/pymesos_gated_framework.py");
    let mut framework = tokio::process::Command::new(python())
        .arg(&script)
        .arg(&cluster.master_addr)
        .arg(gates.path())
        .arg(&pid_file)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the pymesos framework");
    let stdout = framework.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    // Both run; their updates may come in either order.
    let running = |seen: &[String], name: &str| {
        seen.iter()
            .any(|l| l.starts_with(&format!("{name} TASK_RUNNING")))
    };
    while !(running(&seen, "gated-1") && running(&seen, "gated-2")) {
        line_where(&mut lines, &mut seen, "both tasks running", |l| {
            l.contains(" TASK_RUNNING")
        })
        .await;
    }
    // Its host pid (the one it wrote is its PID namespace's): found by its variable.
    assert!(pid_file.exists(), "the executor wrote its pid");
    let variable = format!("EXECUTOR_PID_FILE={}", pid_file.display());
    let (_, pid) = corral_e2e::task_processes::processes_with(&variable)
        .into_iter()
        .min()
        .expect("the executor's process");

    cluster.agents[0].kill9();
    std::fs::write(gates.path().join("gated-2"), "").expect("open gate 2");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(alive(pid), "the executor outlives its agent");
    cluster.agents[0].restart();

    line_where(&mut lines, &mut seen, "gated-2's end", |l| {
        l.starts_with("gated-2 TASK_") && !l.starts_with("gated-2 TASK_RUNNING")
    })
    .await;
    let last = seen.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("gated-2 TASK_FINISHED"),
        "{seen:?}\n{}",
        cluster.logs()
    );
    // Past the reregistration timeout: gated-1 still runs, as does its executor.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        alive(pid),
        "the executor was kept\n{seen:?}\n{}",
        cluster.logs()
    );
    std::fs::write(gates.path().join("gated-1"), "").expect("open gate 1");
    line_where(&mut lines, &mut seen, "gated-1's end", |l| {
        l.starts_with("gated-1 TASK_") && !l.starts_with("gated-1 TASK_RUNNING")
    })
    .await;
    let last = seen.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("gated-1 TASK_FINISHED"),
        "gated-1 did not fail or get lost while the agent was away: {seen:?}\n{}",
        cluster.logs()
    );
    let status = framework.wait().await.expect("framework exits");
    assert!(status.success(), "{seen:?}");
}
