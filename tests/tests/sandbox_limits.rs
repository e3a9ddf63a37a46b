//! What a task may put in its sandbox (issue 16): a task writing past its `disk` is failed
//! with REASON_CONTAINER_LIMITATION_DISK when the quota is enforced, and measured (GET_CONTAINERS'
//! `disk_used_bytes`) when it is not, as Mesos' `disk/du` isolator does
//! (src/slave/containerizer/mesos/isolators/posix/disk.cpp); its stdout is rotated at a cap
//! with a fixed number of files kept, as Mesos' LogrotateContainerLogger does
//! (src/slave/container_loggers/logrotate.cpp), also while the agent is down.

use std::path::{Path, PathBuf};

use corral_e2e::{Cluster, Framework, framework_info, operator, task};
use serde_json::{Value, json};

const MIB: u64 = 1 << 20;

/// A shell task with `disk` MB of disk besides its cpus and mem.
fn task_with_disk(id: &str, offer: &Value, command: &str, disk: f64) -> Value {
    let mut task = task(id, offer, command, 0.1, 32.0);
    if let Some(resources) = task["resources"].as_array_mut() {
        resources.push(json!({"name": "disk", "type": "SCALAR", "scalar": {"value": disk}}));
    }
    task
}

/// The task's sandbox, which its command wrote to `file` ($MESOS_SANDBOX).
async fn sandbox_of(file: &Path) -> PathBuf {
    let file = file.to_path_buf();
    corral_e2e::eventually(30, "the task to say where its sandbox is", || {
        let file = file.clone();
        async move {
            let text = std::fs::read_to_string(&file).ok()?;
            text.ends_with('\n').then(|| PathBuf::from(text.trim()))
        }
    })
    .await
}

/// The entry of GET_CONTAINERS (the agent's operator API) for the task `id`.
async fn container_of(agent: &str, id: &str) -> Option<Value> {
    let answer = operator(agent, "GET_CONTAINERS").await.ok()?;
    answer["get_containers"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["executor_id"]["value"] == id)
        .cloned()
}

/// The names and sizes of the sandbox's `stdout` and `stdout.N` files.
fn stdout_files(sandbox: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(sandbox)
        .expect("list the sandbox")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rotated = name
                .strip_prefix("stdout.")
                .is_some_and(|n| n.parse::<u32>().is_ok());
            (name == "stdout" || rotated)
                .then(|| (name, e.metadata().map(|m| m.len()).unwrap_or(0)))
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_writing_past_its_disk_fails_with_the_disk_limitation() {
    let mut cluster = Cluster::master(&[]).await;
    let flags = [
        "--enforce-container-disk-quota",
        "--container-disk-watch-interval",
        "200ms",
    ];
    cluster.add_agent("cpus:2;mem:1024;disk:1024", &flags).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("disk", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    // 3 MB in a task with 1 MB of disk; it would sleep on.
    let command = "head -c 3000000 /dev/zero > big; exec sleep 600";
    let over = task_with_disk("over", &offer, command, 1.0);
    assert_eq!(fw.launch(&offer, vec![over], 60.0).await, 202);
    let failed = fw.task_state("over", "TASK_FAILED", 60).await;
    assert_eq!(
        failed["reason"], "REASON_CONTAINER_LIMITATION_DISK",
        "{failed}"
    );
    assert_eq!(failed["source"], "SOURCE_AGENT", "{failed}");
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Disk usage (") && message.ends_with(") exceeds quota (1MB)"),
        "Mesos' message: {failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_enforcement_a_task_past_its_disk_runs_and_its_usage_shows() {
    let mut cluster = Cluster::master(&[]).await;
    let flags = ["--container-disk-watch-interval", "200ms"];
    cluster.add_agent("cpus:2;mem:1024;disk:1024", &flags).await;
    let agent = cluster.agent_addrs[0].clone();
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("disk", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let command = "head -c 3000000 /dev/zero > big; exec sleep 600";
    let tasks = vec![
        task_with_disk("measured", &offer, command, 1.0),
        // No `disk`: neither measured nor limited.
        task("unmeasured", &offer, command, 0.1, 32.0),
    ];
    assert_eq!(fw.launch(&offer, tasks, 60.0).await, 202);
    fw.task_states(
        &[("measured", "TASK_RUNNING"), ("unmeasured", "TASK_RUNNING")],
        30,
    )
    .await;
    let entry = corral_e2e::eventually(30, "the task's disk usage in GET_CONTAINERS", || {
        let agent = agent.clone();
        async move {
            let entry = container_of(&agent, "measured").await?;
            let used = entry["resource_statistics"]["disk_used_bytes"].as_u64()?;
            (used >= 3_000_000).then_some(entry)
        }
    })
    .await;
    let stats = &entry["resource_statistics"];
    assert_eq!(stats["disk_limit_bytes"], MIB, "{entry}");
    // Measured again past its quota, and still running.
    corral_e2e::eventually(30, "a later GET_CONTAINERS", || {
        let agent = agent.clone();
        async move {
            let entry = container_of(&agent, "measured").await?;
            let used = entry["resource_statistics"]["disk_used_bytes"].as_u64()?;
            (used >= 3_000_000).then_some(())
        }
    })
    .await;
    let tasks = operator(&cluster.master_addr, "GET_TASKS")
        .await
        .expect("GET_TASKS");
    let measured = tasks["get_tasks"]["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["task_id"]["value"] == "measured"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(measured["state"], "TASK_RUNNING", "{tasks}");
    let other = corral_e2e::eventually(30, "the task without disk in GET_CONTAINERS", || {
        container_of(&agent, "unmeasured")
    })
    .await;
    let stats = &other["resource_statistics"];
    assert!(
        stats.get("disk_limit_bytes").is_none() && stats.get("disk_used_bytes").is_none(),
        "a task without disk has no disk figures, as in Mesos: {other}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_s_stdout_is_rotated_at_its_cap_keeping_the_newest_bytes() {
    let mut cluster = Cluster::master(&[]).await;
    let flags = [
        "--container-logger-max-size",
        "1048576",
        "--container-logger-max-files",
        "3",
    ];
    cluster.add_agent("cpus:2;mem:1024", &flags).await;
    let dir = cluster.dir.path().to_path_buf();
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("logs", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let where_file = dir.join("sandbox-path");
    // 5 MiB to stdout, then a last line.
    let command = format!(
        "echo $MESOS_SANDBOX > {}; head -c 5242880 /dev/zero | tr '\\0' a; echo; echo LAST-LINE",
        where_file.display()
    );
    let chatty = task("chatty", &offer, &command, 0.1, 32.0);
    assert_eq!(fw.launch(&offer, vec![chatty], 60.0).await, 202);
    fw.task_state("chatty", "TASK_FINISHED", 60).await;
    let sandbox = sandbox_of(&where_file).await;
    let files = stdout_files(&sandbox);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["stdout", "stdout.1", "stdout.2", "stdout.3"],
        "{files:?}"
    );
    assert!(files.iter().all(|(_, len)| *len <= MIB), "{files:?}");
    let stdout = std::fs::read_to_string(sandbox.join("stdout")).expect("stdout");
    assert!(
        stdout.ends_with("\nLAST-LINE\n"),
        "the newest bytes are kept"
    );
    let conf = std::fs::read_to_string(sandbox.join("stdout.logrotate.conf")).expect("conf");
    assert!(
        conf.contains("rotate 3\n") && conf.contains("size 1048576\n"),
        "{conf}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_keep_rotating_while_the_agent_is_down() {
    let mut cluster = Cluster::master(&[]).await;
    let flags = [
        "--container-logger-max-size",
        "1048576",
        "--container-logger-max-files",
        "2",
    ];
    cluster.add_agent("cpus:2;mem:1024", &flags).await;
    let dir = cluster.dir.path().to_path_buf();
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("logs", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let where_file = dir.join("sandbox-path");
    let go = dir.join("go");
    let finish = dir.join("finish");
    // 1.5 MiB, then (once the agent is down) 3 MiB more and a last line, then the end.
    let command = format!(
        "echo $MESOS_SANDBOX > {where}; head -c 1572864 /dev/zero | tr '\\0' a; \
         while [ ! -e {go} ]; do sleep 0.05; done; \
         head -c 3145728 /dev/zero | tr '\\0' b; echo; echo WHILE-DOWN; \
         while [ ! -e {finish} ]; do sleep 0.05; done",
        where = where_file.display(),
        go = go.display(),
        finish = finish.display()
    );
    let chatty = task("chatty", &offer, &command, 0.1, 32.0);
    assert_eq!(fw.launch(&offer, vec![chatty], 60.0).await, 202);
    fw.task_state("chatty", "TASK_RUNNING", 30).await;
    let sandbox = sandbox_of(&where_file).await;
    let first = sandbox.clone();
    corral_e2e::eventually(30, "the first rotation", || {
        let sandbox = first.clone();
        async move { sandbox.join("stdout.1").exists().then_some(()) }
    })
    .await;

    cluster.agents[0].kill9();
    std::fs::write(&go, "").expect("write go");
    let down = sandbox.clone();
    corral_e2e::eventually(30, "the last line written while the agent is down", || {
        let sandbox = down.clone();
        async move {
            let stdout = std::fs::read_to_string(sandbox.join("stdout")).ok()?;
            stdout.ends_with("\nWHILE-DOWN\n").then_some(())
        }
    })
    .await;
    let files = stdout_files(&sandbox);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["stdout", "stdout.1", "stdout.2"], "{files:?}");
    assert!(files.iter().all(|(_, len)| *len <= MIB), "{files:?}");
    // The oldest kept file holds the second part only: the first rotated away.
    let oldest = std::fs::read(sandbox.join("stdout.2")).expect("stdout.2");
    assert!(
        oldest.iter().all(|b| *b == b'b'),
        "older bytes were dropped"
    );

    cluster.agents[0].restart();
    std::fs::write(&finish, "").expect("write finish");
    fw.task_state("chatty", "TASK_FINISHED", 60).await;
}
