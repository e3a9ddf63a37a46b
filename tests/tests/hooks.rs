//! Hooks (issue 6) on a real cluster: the master's `on-launch` decorates or denies tasks
//! (TASK_ERROR with the hook's reason), `on-agent-register` adds attributes, the agent's
//! `on-run` adds environment to the task's process and `on-status` labels its updates; a
//! trapping hook lets tasks run fail-open and denies them fail-closed.

use std::path::{Path, PathBuf};

use corral_e2e::{Cluster, Framework, framework_info, operator, plugin_wasm, task};
use serde_json::{Value, json};

/// Writes a `--hooks` file into the cluster's directory and returns its path.
fn hooks_file(dir: &Path, name: &str, hooks: Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, hooks.to_string()).expect("write hooks file");
    path.display().to_string()
}

/// A master with `hooks` (and an agent with `agent_hooks`), and a subscribed framework.
async fn cluster_with(hooks: Value, agent_hooks: Value) -> (Cluster, Framework) {
    let dir = tempfile::tempdir().expect("temp dir");
    let master_file = hooks_file(dir.path(), "master-hooks.json", hooks);
    let agent_file = hooks_file(dir.path(), "agent-hooks.json", agent_hooks);
    let mut cluster = Cluster::master(&["--hooks", &master_file]).await;
    cluster
        .add_agent(
            "cpus:2;mem:1024",
            &["--hooks", &agent_file, "--isolation", "posix"],
        )
        .await;
    let fw = Framework::subscribe(&cluster.master_addr, framework_info("hooked", json!({}))).await;
    std::mem::forget(dir); // the files must outlive the processes; they are tiny
    (cluster, fw)
}

fn label<'a>(labels: &'a Value, key: &str) -> Option<&'a str> {
    labels["labels"]
        .as_array()?
        .iter()
        .find(|l| l["key"] == key)?["value"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_denies_over_the_limit_and_labels_decorate_accepted_tasks() {
    let master_hooks = json!([
        {"plugin": "labels", "config": {"labels": {"team": "infra"}, "agent_attributes": {"zone": "z9"}},
         "failure": "closed"},
        {"plugin": "admission", "config": {"default": {"max_cpus": 0.5}, "required_labels": ["team"]},
         "failure": "closed"},
    ]);
    let (cluster, mut fw) = cluster_with(master_hooks, json!([])).await;
    let offer = fw.offers(10).await.remove(0);
    let tasks = vec![
        task("big", &offer, "sleep 30", 1.0, 32.0),
        task("small", &offer, "sleep 30", 0.1, 32.0),
    ];
    assert_eq!(fw.launch(&offer, tasks, 0.0).await, 202);
    let statuses = fw
        .task_states(&[("big", "TASK_ERROR"), ("small", "TASK_RUNNING")], 20)
        .await;
    let denied = &statuses["big"];
    assert_eq!(denied["reason"], "REASON_TASK_UNAUTHORIZED", "{denied}");
    let message = denied["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("admission") && message.contains("default.max_cpus"),
        "the message names the hook and the rule: {denied}"
    );

    let tasks = operator(&cluster.master_addr, "GET_TASKS")
        .await
        .expect("GET_TASKS");
    let listed = tasks["get_tasks"]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let small = listed
        .iter()
        .find(|t| t["task_id"]["value"] == "small")
        .unwrap_or_else(|| panic!("small is listed: {tasks}"));
    assert_eq!(label(&small["labels"], "team"), Some("infra"), "{small}");
    assert!(
        listed.iter().all(|t| t["task_id"]["value"] != "big"),
        "a denied task is not launched: {tasks}"
    );

    let agents = operator(&cluster.master_addr, "GET_AGENTS")
        .await
        .expect("GET_AGENTS");
    let attributes = agents["get_agents"]["agents"][0]["agent_info"]["attributes"].to_string();
    assert!(
        attributes.contains("z9"),
        "on-agent-register added zone: {agents}"
    );

    let metrics = corral_e2e::http_get(format!("http://{}/metrics", cluster.master_addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("corral_plugin_quarantined{kind=\"hook\",plugin=\"admission\"} 0"),
        "{metrics}"
    );
}

/// The `stdout` file of `task_id`'s sandbox somewhere under `dir`.
fn find_stdout(dir: &Path, task_id: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_stdout(&path, task_id) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == "stdout")
            && path.to_string_lossy().contains(task_id)
        {
            return Some(path);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_hooks_add_environment_to_the_process_and_labels_to_updates() {
    let agent_hooks = json!([
        {"plugin": "labels", "config": {"run_environment": {"X": "from-the-hook"},
                                        "status_labels": {"via": "hook"}}},
    ]);
    let (cluster, mut fw) = cluster_with(json!([]), agent_hooks).await;
    let offer = fw.offers(10).await.remove(0);
    let echo = task("echo-x", &offer, "echo X=$X", 0.1, 32.0);
    assert_eq!(fw.launch(&offer, vec![echo], 0.0).await, 202);
    let finished = fw.task_state("echo-x", "TASK_FINISHED", 20).await;
    assert_eq!(
        label(&finished["labels"], "via"),
        Some("hook"),
        "{finished}"
    );
    let stdout = find_stdout(cluster.dir.path(), "echo-x").expect("the task's stdout file");
    let text = std::fs::read_to_string(&stdout).expect("read stdout");
    assert!(
        text.contains("X=from-the-hook"),
        "{}: {text}",
        stdout.display()
    );
}

async fn launch_one_with_a_trapping_hook(failure: &str) -> (Cluster, Value) {
    let bad = plugin_wasm("bad_hook").display().to_string();
    let hooks = json!([{"plugin": bad, "config": "trap:on-launch", "failure": failure}]);
    let (cluster, mut fw) = cluster_with(hooks, json!([])).await;
    let offer = fw.offers(10).await.remove(0);
    let t = task("t", &offer, "true", 0.1, 32.0);
    assert_eq!(fw.launch(&offer, vec![t], 0.0).await, 202);
    let status = fw
        .wait_for(20, true, "t ends", |e| {
            e["type"] == "UPDATE"
                && ["TASK_FINISHED", "TASK_ERROR"]
                    .contains(&e["update"]["status"]["state"].as_str().unwrap_or_default())
        })
        .await;
    (cluster, status["update"]["status"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_hook_fail_open_lets_tasks_run() {
    let (cluster, status) = launch_one_with_a_trapping_hook("open").await;
    assert_eq!(status["state"], "TASK_FINISHED", "{status}");
    assert!(cluster.master.log_text().contains("fail-open"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_hook_fail_closed_denies_tasks_with_the_reason() {
    let (_cluster, status) = launch_one_with_a_trapping_hook("closed").await;
    assert_eq!(status["state"], "TASK_ERROR", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("bad_hook") && message.contains("trapped"),
        "{status}"
    );
}
