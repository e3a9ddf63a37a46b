//! `corral dev` plus the CLI, as a newcomer uses them from the README.

use corral_e2e::Cluster;
use serde_json::Value;

const RESOURCES: &str = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_runs_twenty_tasks_through_offers_and_the_cli_shows_them() {
    let cluster = Cluster::dev(RESOURCES).await;
    let master = cluster.master_addr.clone();
    let (code, out, err) = cluster.cli(&[
        "execute",
        "--master",
        &master,
        "--instances",
        "20",
        "--cpus",
        "0.1",
        "--mem",
        "32",
        "--command",
        "echo hi",
    ]);
    assert_eq!(
        code,
        0,
        "execute failed\nstdout:\n{out}\nstderr:\n{err}\n{}",
        cluster.logs()
    );
    assert!(
        out.contains("TASK_FINISHED"),
        "progress shows states:\n{out}"
    );

    let (code, tasks_json, _) = cluster.cli(&["tasks", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&tasks_json).expect("tasks --json is JSON");
    let all: Vec<&Value> = ["tasks", "completed_tasks"]
        .iter()
        .flat_map(|k| v["get_tasks"][*k].as_array().into_iter().flatten())
        .collect();
    let finished = all.iter().filter(|t| t["state"] == "TASK_FINISHED").count();
    assert_eq!(finished, 20, "20 finished tasks in {tasks_json}");

    let (code, table, _) = cluster.cli(&["tasks"]);
    assert_eq!(code, 0);
    assert!(table.contains("TASK_FINISHED"), "tasks table:\n{table}");
    let (code, agents, _) = cluster.cli(&["agents"]);
    assert_eq!(code, 0);
    assert!(
        agents.lines().count() >= 2,
        "agents table has a header and a row:\n{agents}"
    );
    let (code, frameworks, _) = cluster.cli(&["frameworks", "--json"]);
    assert_eq!(code, 0);
    let _: Value = serde_json::from_str(&frameworks).expect("frameworks --json is JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_exits_nonzero_with_the_reason_when_a_command_fails() {
    let cluster = Cluster::dev(RESOURCES).await;
    let master = cluster.master_addr.clone();
    let (code, out, err) = cluster.cli(&[
        "execute",
        "--master",
        &master,
        "--instances",
        "2",
        "--command",
        "exit 3",
    ]);
    assert_ne!(
        code, 0,
        "a failing command must fail execute:\n{out}\n{err}"
    );
    let text = format!("{out}{err}");
    assert!(text.contains("TASK_FAILED"), "{text}");
    assert!(
        text.contains("status 3"),
        "the exit code is reported: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reports_an_unreachable_master_clearly() {
    let port = corral_e2e::free_port();
    let out = std::process::Command::new(corral_e2e::corral_bin())
        .args(["agents", "--master", &format!("127.0.0.1:{port}")])
        .output()
        .expect("run corral");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&port.to_string()),
        "the error names the address: {err}"
    );
}
