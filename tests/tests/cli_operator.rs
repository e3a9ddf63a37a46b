//! The operator's command line against a real master and agent (issue 15): tasks found by
//! name or id prefix ("did you mean" otherwise), `task kill`, `framework teardown`,
//! `agent gone`, `--master` after any subcommand, filtered task tables, `execute` that says
//! at once when no agent could hold its task, errors that say what to do, completions, and
//! the operator calls about the process (GET_FLAGS, the logging level).

use std::process::{Child, Command, Stdio};

use corral_e2e::{Cluster, corral_bin, eventually, operator};
use serde_json::{Value, json};

/// `corral execute` left running (its tasks sleep); killed when the test ends.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn execute_in_background(master: &str, name: &str) -> Background {
    let child = Command::new(corral_bin())
        .args([
            "execute",
            "--master",
            master,
            "--name",
            name,
            "--command",
            "sleep 300",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("corral execute starts");
    Background(child)
}

/// The task of framework `name` once it runs: (task id, framework id).
async fn running_task(master: &str, name: &str) -> (String, String) {
    let prefix = format!("{name}-1-");
    eventually(30, "the task to run", || {
        let master = master.to_string();
        let prefix = prefix.clone();
        async move {
            let tasks = operator(&master, "GET_TASKS").await.ok()?;
            tasks["get_tasks"]["tasks"]
                .as_array()?
                .iter()
                .find(|t| {
                    t["state"] == "TASK_RUNNING"
                        && t["task_id"]["value"]
                            .as_str()
                            .is_some_and(|id| id.starts_with(&prefix))
                })
                .map(|t| {
                    (
                        t["task_id"]["value"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        t["framework_id"]["value"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
        }
    })
    .await
}

async fn task_state(master: &str, id: &str) -> Option<String> {
    let tasks = operator(master, "GET_TASKS").await.ok()?;
    let lists = tasks["get_tasks"].as_object()?;
    lists
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .find(|t| t["task_id"]["value"] == id)
        .and_then(|t| t["state"].as_str().map(String::from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_found_by_name_killed_listed_and_frameworks_torn_down() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent(
            "cpus:4;mem:2048;ports:[31000-31009]",
            &["--attributes", "rack:r1"],
        )
        .await;
    let master = cluster.master_addr.clone();

    // A task is found by its name (ids carry a suffix), as docs/wasm-tasks.md shows.
    let _sleeper = execute_in_background(&master, "sleeper");
    let (id, _) = running_task(&master, "sleeper").await;
    let (code, _, err) = cluster.cli_off_thread(&["task", "logs", "sleeper-1"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cluster.cli_off_thread(&["task", "logs", "sleepr-1"]).await;
    assert_ne!(code, 0);
    assert!(err.contains(&format!("did you mean {id}")), "{err}");

    // Tables: the agent's address and attributes; tasks filtered by state and framework.
    let (code, agents, err) = cluster.cli_off_thread(&["agents"]).await;
    assert_eq!(code, 0, "{err}");
    let agent_port = cluster.agent_addrs[0].rsplit(':').next().expect("port");
    assert!(agents.contains(&format!(":{agent_port} ")), "{agents}");
    assert!(agents.contains("rack:r1"), "{agents}");
    let (_, running, _) = cluster
        .cli_off_thread(&["tasks", "--state", "running"])
        .await;
    assert!(running.contains(&id), "{running}");
    let (_, other, _) = cluster
        .cli_off_thread(&["tasks", "--framework", "no-such-framework"])
        .await;
    assert!(!other.contains(&id), "{other}");

    // task kill by name: the task ends TASK_KILLED.
    let (code, out, err) = cluster.cli_off_thread(&["task", "kill", "sleeper-1"]).await;
    assert_eq!(code, 0, "{out}{err}");
    eventually(30, "the task to be killed", || {
        let master = master.clone();
        let id = id.clone();
        async move { (task_state(&master, &id).await.as_deref() == Some("TASK_KILLED")).then_some(()) }
    })
    .await;
    let (_, killed, _) = cluster
        .cli_off_thread(&["tasks", "--state", "killed"])
        .await;
    assert!(killed.contains(&id), "{killed}");
    let (code, _, err) = cluster.cli_off_thread(&["task", "kill", &id]).await;
    assert_ne!(code, 0);
    assert!(err.contains("already ended"), "{err}");

    // framework teardown: its running task is killed, the framework completed.
    let _doomed = execute_in_background(&master, "doomed");
    let (doomed_task, framework) = running_task(&master, "doomed").await;
    let (code, out, err) = cluster
        .cli_off_thread(&["framework", "teardown", &framework])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    eventually(30, "the framework's task to be killed", || {
        let master = master.clone();
        let id = doomed_task.clone();
        async move { (task_state(&master, &id).await.as_deref() == Some("TASK_KILLED")).then_some(()) }
    })
    .await;
    let frameworks = operator(&master, "GET_FRAMEWORKS")
        .await
        .expect("GET_FRAMEWORKS");
    assert!(
        frameworks["get_frameworks"]["completed_frameworks"]
            .to_string()
            .contains(&framework),
        "{frameworks}"
    );
    let (code, _, err) = cluster
        .cli_off_thread(&["framework", "teardown", "no-such-framework"])
        .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("No framework found with specified ID"),
        "{err}"
    );

    // agent gone, with --master after the subcommand and its argument.
    let agents = operator(&master, "GET_AGENTS").await.expect("GET_AGENTS");
    let agent_id = agents["get_agents"]["agents"][0]["agent_info"]["id"]["value"]
        .as_str()
        .expect("an agent id")
        .to_string();
    let (code, out, err) = cluster
        .cli_off_thread(&["agent", "gone", &agent_id, "--master", &master])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    eventually(30, "the agent to be gone", || {
        let master = master.clone();
        async move {
            let agents = operator(&master, "GET_AGENTS").await.ok()?;
            (agents["get_agents"]["agents"].as_array().map(Vec::len) == Some(0)).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_says_what_to_do() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:1;mem:256", &[]).await;

    // --master after the subcommand wins over $CORRAL_MASTER; nothing there: a hint.
    let (code, _, err) = cluster
        .cli_off_thread(&["plugin", "list", "--master", "127.0.0.1:1"])
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(
        err.contains("corral dev") && err.contains("CORRAL_MASTER") && err.contains("--master"),
        "{err}"
    );
    let (code, _, err) = cluster
        .cli_off_thread(&["plugin", "list", "--master", &cluster.master_addr])
        .await;
    assert_eq!(code, 0, "{err}");

    // No agent could ever hold 64 cpus: execute stops at once instead of waiting.
    let (code, _, err) = cluster
        .cli_off_thread(&["execute", "--command", "true", "--cpus", "64"])
        .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no agent could ever hold a task of cpus:64"),
        "{err}"
    );

    // A busy port names the flag that chose it.
    let port = cluster
        .master_addr
        .rsplit(':')
        .next()
        .expect("port")
        .to_string();
    let out = Command::new(corral_bin())
        .args([
            "master",
            "--ip",
            "127.0.0.1",
            "--port",
            &port,
            "--state",
            "memory",
        ])
        .output()
        .expect("corral master runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("port {port} is taken")) && err.contains("--port"),
        "{err}"
    );

    let (code, script, _) = cluster.cli_off_thread(&["completion", "bash"]).await;
    assert_eq!(code, 0);
    assert!(
        script.contains("_corral()") && script.contains("complete"),
        "{script}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_and_the_logging_level_are_read_and_set_at_run_time() {
    let cluster = Cluster::master(&["--agent-ping-timeout", "3secs"]).await;
    let master = cluster.master_addr.clone();
    let flags = operator(&master, "GET_FLAGS").await.expect("GET_FLAGS");
    let list = flags["get_flags"]["flags"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let value = |name: &str| {
        list.iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["value"].as_str().map(String::from))
    };
    assert_eq!(
        value("agent_ping_timeout").as_deref(),
        Some("3secs"),
        "{flags}"
    );
    assert_eq!(
        value("allocation_interval").as_deref(),
        Some("200ms"),
        "{flags}"
    );
    assert_eq!(value("state").as_deref(), Some("memory"), "{flags}");

    let level = operator(&master, "GET_LOGGING_LEVEL")
        .await
        .expect("GET_LOGGING_LEVEL");
    assert_eq!(level["get_logging_level"]["level"], 0, "{level}");
    let set = |level: u32, secs: u64| {
        let master = master.clone();
        async move {
            corral_e2e::http_client()
                .post(format!("http://{master}/api/v1"))
                .json(&json!({"type": "SET_LOGGING_LEVEL", "set_logging_level": {
                    "level": level, "duration": {"nanoseconds": secs * 1_000_000_000}}}))
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };
    assert_eq!(set(2, 600).await, 200);
    let level = operator(&master, "GET_LOGGING_LEVEL")
        .await
        .expect("GET_LOGGING_LEVEL");
    assert_eq!(level["get_logging_level"]["level"], 2, "{level}");
    // The new filter is in force: the handler's own debug line reached the log.
    let log = cluster.master.log_text();
    assert!(log.contains("verbose logging is on"), "{log}");
    // A short duration: the level goes back to where the process started.
    assert_eq!(set(1, 1).await, 200);
    eventually(30, "the level to revert", || {
        let master = master.clone();
        async move {
            let level = operator(&master, "GET_LOGGING_LEVEL").await.ok()?;
            (level["get_logging_level"]["level"] == 0).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_allocator_swaps_in_with_its_embedded_manifest() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:1;mem:256", &[]).await;
    let example = corral_e2e::plugin_wasm("first_fit").display().to_string();
    let (code, out, err) = cluster
        .cli_off_thread(&["plugin", "swap", "allocator", &example])
        .await;
    assert_eq!(code, 0, "{out}{err}\n{}", cluster.logs());
    let (_, listed, _) = cluster.cli_off_thread(&["plugin", "list"]).await;
    assert!(listed.contains("first-fit"), "{listed}");

    // A component with no manifest anywhere: the CLI says what to write.
    let dir = tempfile::tempdir().expect("tempdir");
    let bare = dir.path().join("bare.wasm");
    std::fs::write(&bare, wat::parse_str("(module)").expect("wat")).expect("write");
    let (code, _, err) = cluster
        .cli_off_thread(&["plugin", "swap", "allocator", &bare.display().to_string()])
        .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("has no manifest") && err.contains("--manifest"),
        "{err}"
    );
}
