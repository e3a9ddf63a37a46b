//! Sandboxes, usage and health checks end to end: `corral task logs` prints what a task wrote
//! (and `--follow` gets later lines), health checks run by the command executor report
//! `healthy` to the framework and kill a task that keeps failing, `corral top --once` lists a
//! running task.

use corral_e2e::{
    Cluster, Framework, eventually, framework_info, free_port, task, task_processes::task_sandbox,
};
use serde_json::{Value, json};

async fn cluster() -> Cluster {
    let mut c = Cluster::master(&[]).await;
    c.add_agent("cpus:4;mem:4096;disk:1024;ports:[31000-31999]", &[])
        .await;
    c
}

fn with_health_check(mut task: Value, check: Value) -> Value {
    task["health_check"] = check;
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_logs_print_what_a_task_wrote_and_follow_gets_later_lines() {
    let cluster = cluster().await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("logs", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    // The rest is written once the test has seen the first line (the `go` file).
    let command = "echo first; echo oops >&2; while [ ! -e go ]; do sleep 0.05; done; echo second; echo third";
    assert_eq!(
        fw.launch(
            &offer,
            vec![task("talker", &offer, command, 0.1, 32.0)],
            5.0
        )
        .await,
        202
    );
    fw.task_state("talker", "TASK_RUNNING", 20).await;

    let out = eventually(10, "'first' in the logs", || async {
        let (code, out, err) = cluster.cli_off_thread(&["task", "logs", "talker"]).await;
        assert_eq!(code, 0, "task logs failed: {err}\n{}", cluster.logs());
        out.contains("first").then_some(out)
    })
    .await;
    assert!(!out.contains("second"), "not written yet: {out}");
    let (code, err_out, _) = cluster
        .cli_off_thread(&["task", "logs", "talker", "--stderr"])
        .await;
    assert_eq!(code, 0);
    assert_eq!(err_out, "oops\n");
    let sandbox = task_sandbox(&cluster.dir.path().join("agent0"), "talker");
    std::fs::write(sandbox.join("go"), "").expect("write go");

    // --follow returns once the task has ended and its output is drained.
    let (code, followed, err) = cluster
        .cli_off_thread(&["task", "logs", "talker", "--follow"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(followed, "first\nsecond\nthird\n");
    fw.task_state("talker", "TASK_FINISHED", 20).await;

    let (code, tail, err) = cluster
        .cli_off_thread(&["task", "logs", "talker", "--tail", "2"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(tail, "second\nthird\n");

    let (code, _, err) = cluster
        .cli_off_thread(&["task", "logs", "no-such-task"])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("no task 'no-such-task'"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_failing_its_http_check_is_killed_and_reported_unhealthy() {
    let cluster = cluster().await;
    let mut fw = Framework::subscribe(&cluster.master_addr, framework_info("hc", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let nobody = free_port();
    let sick = with_health_check(
        task("sick", &offer, "sleep 100", 0.1, 32.0),
        json!({
            "type": "HTTP",
            "http": {"port": nobody, "path": "/health"},
            "delay_seconds": 0.0,
            "interval_seconds": 0.3,
            "timeout_seconds": 1.0,
            "grace_period_seconds": 0.0,
            "consecutive_failures": 3,
        }),
    );
    assert_eq!(fw.launch(&offer, vec![sick], 5.0).await, 202);
    let unhealthy = fw
        .wait_for(30, true, "sick TASK_RUNNING healthy=false", |e| {
            e["type"] == "UPDATE"
                && e["update"]["status"]["task_id"]["value"] == "sick"
                && e["update"]["status"]["state"] == "TASK_RUNNING"
                && e["update"]["status"]["healthy"] == false
        })
        .await;
    let status = &unhealthy["update"]["status"];
    assert_eq!(status["reason"], "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&nobody.to_string()),
        "{status}"
    );
    let killed = fw.task_state("sick", "TASK_KILLED", 30).await;
    assert_eq!(killed["healthy"], false, "{killed}");
    assert!(
        killed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("3 consecutive failed health checks"),
        "{killed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_command_checks_report_healthy_and_top_lists_the_tasks() {
    let cluster = cluster().await;
    let mut fw = Framework::subscribe(&cluster.master_addr, framework_info("web", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    let port = free_port();
    let web = with_health_check(
        task(
            "web",
            &offer,
            &format!("exec python3 -m http.server {port} --bind 127.0.0.1"),
            0.2,
            64.0,
        ),
        json!({
            "type": "TCP",
            "tcp": {"port": port},
            "delay_seconds": 0.2,
            "interval_seconds": 0.3,
            "timeout_seconds": 1.0,
            "grace_period_seconds": 20.0,
            "consecutive_failures": 3,
        }),
    );
    // A COMMAND check runs in the task's sandbox (and cgroups).
    let ready = with_health_check(
        task("ready", &offer, "touch ready; sleep 100", 0.1, 32.0),
        json!({
            "type": "COMMAND",
            "command": {"shell": true, "value": "test -f ready"},
            "delay_seconds": 0.2,
            "interval_seconds": 0.3,
            "grace_period_seconds": 20.0,
        }),
    );
    assert_eq!(fw.launch(&offer, vec![web, ready], 5.0).await, 202);
    let mut healthy = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while healthy.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "healthy so far: {healthy:?}"
        );
        let Some(event) = fw.next_event(5).await else {
            continue;
        };
        if event["type"] != "UPDATE" {
            continue;
        }
        let status = event["update"]["status"].clone();
        fw.ack(&status).await;
        if status["healthy"] == true {
            assert_eq!(status["state"], "TASK_RUNNING");
            healthy.insert(
                status["task_id"]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }

    // The same task in `corral top --once`, with its memory limit.
    let (code, top, err) = cluster.cli_off_thread(&["top", "--once"]).await;
    assert_eq!(code, 0, "{err}");
    let header = top.lines().next().unwrap_or_default();
    for column in ["TASK", "FRAMEWORK", "AGENT", "CPU%", "MEM", "LIMIT", "PIDS"] {
        assert!(header.contains(column), "{top}");
    }
    let row = top
        .lines()
        .find(|l| l.starts_with("web"))
        .unwrap_or_else(|| panic!("web in top:\n{top}"));
    assert!(row.contains("64.0 MB"), "{row}");

    let (code, _) = fw
        .call(json!({"type": "KILL", "kill": {"task_id": {"value": "web"}}}))
        .await;
    assert_eq!(code, 202);
    fw.task_state("web", "TASK_KILLED", 20).await;
}
