//! Wasm tasks end to end, on one cluster: a `.wasm` command (shell false) runs under
//! `corral wasm-run` with its arguments, environment and sandbox; its stdout is in the
//! sandbox; exit 0 is FINISHED and exit 3 FAILED with the 3; a program fetched from an HTTP
//! server runs; memory past `mem` fails with the cap on stderr and the agent keeps serving;
//! a `.wasm` that is not wasm fails with a clear message; `/etc/passwd` cannot be read; a
//! kill is TASK_KILLED, also while the agent still fetches; and `corral execute --no-shell --uri` runs the example too.

use std::path::PathBuf;

use corral_e2e::{Cluster, Framework, framework_info, plugin_wasm};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP server on a free port that answers every GET with `files[last segment]`,
/// or 404. The agent's fetcher is the client.
async fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let files = files.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("/");
                let name = path.rsplit('/').next().unwrap_or_default();
                if name == "stall.wasm" {
                    // Never finishes: a byte every 5 s, so the fetch neither ends nor times
                    // out (its read timeout is 60 s) however long the test takes to kill it.
                    let head =
                        "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n";
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for _ in 0..120 {
                        if socket.write_all(b"\0").await.is_err() {
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                    return;
                }
                let (status, body) = match files.iter().find(|(n, _)| *n == name) {
                    Some((_, body)) => ("200 OK", body.clone()),
                    None => ("404 Not Found", Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

/// A wasip1 command module that exits with `code`.
fn exits_with(code: i32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $exit (i32.const {code}))))"#
    ))
    .expect("valid wat")
}

/// A `.wasm` task: `value` run without a shell with `argv`, after fetching `uri`.
fn wasm_task(id: &str, offer: &Value, uri: &str, value: &str, argv: &[&str], mem: f64) -> Value {
    json!({
        "name": id,
        "task_id": {"value": id},
        "agent_id": offer["agent_id"],
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}},
        ],
        "command": {
            "shell": false,
            "value": value,
            "arguments": argv,
            "uris": [{"value": uri}],
            "environment": {"variables": [{"name": "GREETING", "value": "hello from the task"}]},
        },
    })
}

async fn logs(cluster: &Cluster, task: &str, stderr: bool) -> String {
    let mut args = vec!["task", "logs", task];
    if stderr {
        args.push("--stderr");
    }
    let (code, out, err) = cluster.cli_off_thread(&args).await;
    assert_eq!(code, 0, "task logs {task}: {err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_tasks_run_in_their_sandbox_with_their_states_exit_codes_and_limits() {
    let example: PathBuf = plugin_wasm("wasi-task");
    let local = format!("file://{}", example.display());
    let server = serve(vec![
        ("exit3.wasm", exits_with(3)),
        ("fake.wasm", b"#!/bin/sh\necho not wasm\n".to_vec()),
        (
            "wasi-task.wasm",
            std::fs::read(&example).expect("example built"),
        ),
    ])
    .await;
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("wasm", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);

    let words = [
        "wasi-task",
        "one",
        "two",
        "three",
        "--write",
        "note.txt",
        "kept",
    ];
    let tasks = vec![
        wasm_task("words", &offer, &local, "wasi-task.wasm", &words, 128.0),
        wasm_task(
            "exit3",
            &offer,
            &format!("{server}/exit3.wasm"),
            "exit3.wasm",
            &[],
            64.0,
        ),
        wasm_task(
            "fetched",
            &offer,
            &format!("{server}/wasi-task.wasm"),
            "wasi-task.wasm",
            &["wasi-task", "over", "http"],
            128.0,
        ),
        wasm_task(
            "bomb",
            &offer,
            &local,
            "wasi-task.wasm",
            &["wasi-task", "--alloc-mb", "512"],
            96.0,
        ),
        wasm_task(
            "fake",
            &offer,
            &format!("{server}/fake.wasm"),
            "fake.wasm",
            &[],
            64.0,
        ),
        wasm_task(
            "escape",
            &offer,
            &local,
            "wasi-task.wasm",
            &["wasi-task", "--read", "/etc/passwd"],
            128.0,
        ),
        wasm_task(
            "missing",
            &offer,
            &format!("{server}/gone.wasm"),
            "gone.wasm",
            &[],
            64.0,
        ),
        wasm_task(
            "stalled",
            &offer,
            &format!("{server}/stall.wasm"),
            "stall.wasm",
            &[],
            64.0,
        ),
        wasm_task(
            "sleeper",
            &offer,
            &local,
            "wasi-task.wasm",
            &["wasi-task", "--sleep-secs", "600"],
            64.0,
        ),
    ];
    assert_eq!(fw.launch(&offer, tasks, 1.0).await, 202);
    let states = fw
        .task_states(
            &[
                ("words", "TASK_FINISHED"),
                ("exit3", "TASK_FAILED"),
                ("fetched", "TASK_FINISHED"),
                ("bomb", "TASK_FAILED"),
                ("fake", "TASK_FAILED"),
                ("escape", "TASK_FAILED"),
                ("missing", "TASK_FAILED"),
                ("sleeper", "TASK_RUNNING"),
            ],
            90,
        )
        .await;

    // Arguments, environment and stdout in the sandbox.
    let out = logs(&cluster, "words", false).await;
    assert!(out.contains("GREETING=hello from the task"), "{out}");
    assert!(
        out.contains("wrote note.txt") && out.contains("3 words"),
        "{out}"
    );
    let out = logs(&cluster, "fetched", false).await;
    assert!(out.contains("2 words"), "{out}");

    let message = |id: &str| {
        states[id]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        message("exit3").contains("status 3"),
        "{}",
        message("exit3")
    );

    // Memory past `mem`: the runner traps, and the status and stderr name the cap.
    let bomb = message("bomb");
    assert!(bomb.contains("memory limit of 96 MB"), "{bomb}");
    assert_eq!(
        states["bomb"]["reason"],
        "REASON_CONTAINER_LIMITATION_MEMORY"
    );
    let err = logs(&cluster, "bomb", true).await;
    assert!(err.contains("memory limit of 96 MB"), "{err}");

    // Not wasm and a failed fetch: clear messages in the status itself.
    assert!(
        message("fake").contains("not a WebAssembly"),
        "{}",
        message("fake")
    );
    let missing = message("missing");
    assert!(
        missing.contains("gone.wasm") && missing.contains("404"),
        "{missing}"
    );
    assert_eq!(
        states["missing"]["reason"],
        "REASON_CONTAINER_LAUNCH_FAILED"
    );

    // The sandbox is all the program sees.
    assert!(
        message("escape").contains("status 1"),
        "{}",
        message("escape")
    );
    let err = logs(&cluster, "escape", true).await;
    assert!(err.contains("cannot read /etc/passwd"), "{err}");

    // A kill ends a running wasm task as any other.
    let kill = json!({"type": "KILL", "kill": {"task_id": {"value": "sleeper"}, "agent_id": offer["agent_id"]}});
    let (code, body) = fw.call(kill).await;
    assert_eq!(code, 202, "KILL: {body}");
    fw.task_state("sleeper", "TASK_KILLED", 30).await;
    // So does a kill while its URI is still being fetched.
    let kill = json!({"type": "KILL", "kill": {"task_id": {"value": "stalled"}, "agent_id": offer["agent_id"]}});
    let (code, body) = fw.call(kill).await;
    assert_eq!(code, 202, "KILL: {body}");
    let stalled = fw.task_state("stalled", "TASK_KILLED", 30).await;
    assert_eq!(stalled["reason"], "REASON_TASK_KILLED_DURING_LAUNCH");

    // The agent keeps serving: the CLI runs the example through it (once this framework
    // has given back the offers it holds).
    let (code, body) = fw.call(json!({"type": "TEARDOWN"})).await;
    assert_eq!(code, 202, "TEARDOWN: {body}");
    drop(fw);
    let command = "wasi-task.wasm a b c d";
    let (code, out, err) = cluster
        .cli_off_thread(&[
            "execute",
            "--no-shell",
            "--uri",
            &local,
            "--command",
            command,
            "--mem",
            "128",
        ])
        .await;
    assert_eq!(code, 0, "execute: {out}\n{err}\n{}", cluster.logs());
    assert!(out.contains("TASK_FINISHED"), "{out}");
}
