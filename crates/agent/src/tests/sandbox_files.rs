//! A task's sandbox over HTTP: /files/browse, /files/read (offsets, offset=-1), download,
//! LIST_FILES and READ_FILE; unknown paths are 404, `..` and symlink escapes are refused.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::fake_master::FakeMaster;
use super::support::*;
use crate::AgentHandle;
use corral_api::v1::TaskState;

async fn get(agent: &AgentHandle, endpoint: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let url = reqwest::Url::parse_with_params(&format!("http://{}{endpoint}", agent.addr), query)
        .expect("a URL");
    let response = corral_client::client_tls::client()
        .get(url)
        .send()
        .await
        .expect("agent answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn call(agent: &AgentHandle, body: Value) -> (u16, Value) {
    let response = corral_client::client_tls::client()
        .post(format!("http://{}/api/v1", agent.addr))
        .json(&body)
        .send()
        .await
        .expect("agent answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// An agent running task `echo` that wrote "hello\nworld\n" to stdout; returns its sandbox.
async fn agent_with_echo(master: &FakeMaster, work: &std::path::Path) -> (AgentHandle, String) {
    let agent = registered_agent(master, work, Duration::from_secs(1)).await;
    master.send(shell_task(
        "echo",
        "echo",
        "printf 'hello\\nworld\\n'; echo oops >&2; echo done > marker; sleep 100",
        None,
    ));
    master
        .wait_until("echo to run", |m| {
            m.states_of("echo").contains(&TaskState::TaskRunning)
        })
        .await;
    let sandbox = find_sandbox(work, "echo");
    read_when_written(&sandbox.join("marker")).await;
    let state = agent_state(&agent).await;
    let reported = state["tasks"][0]["sandbox"]
        .as_str()
        .expect("the agent reports the sandbox")
        .to_string();
    assert_eq!(reported, sandbox.display().to_string());
    (agent, reported)
}

#[tokio::test]
async fn browse_and_read_a_sandbox() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let (agent, sandbox) = agent_with_echo(&master, work.path()).await;

    let (status, listing) = get(&agent, "/files/browse", &[("path", &sandbox)]).await;
    assert_eq!(status, 200, "{listing}");
    let entries = listing.as_array().expect("a list");
    let stdout = entries
        .iter()
        .find(|e| e["path"] == format!("{sandbox}/stdout"))
        .expect("stdout is listed");
    assert_eq!(stdout["size"], 12);
    assert_eq!(stdout["mode"], "-rw-r--r--");
    assert_eq!(stdout["nlink"], 1);
    assert_eq!(stdout["uid"], "root");
    assert!(stdout["mtime"].as_f64().expect("mtime in seconds") > 1.6e9);
    assert!(
        entries
            .iter()
            .any(|e| e["path"] == format!("{sandbox}/stderr"))
    );

    let stdout_path = format!("{sandbox}/stdout");
    let (status, all) = get(&agent, "/files/read", &[("path", &stdout_path)]).await;
    assert_eq!(status, 200);
    assert_eq!(all, json!({"data": "hello\nworld\n", "offset": 0}));
    let (_, part) = get(
        &agent,
        "/files/read",
        &[("path", &stdout_path), ("offset", "6"), ("length", "3")],
    )
    .await;
    assert_eq!(part, json!({"data": "wor", "offset": 6}));
    let (_, size) = get(
        &agent,
        "/files/read",
        &[("path", &stdout_path), ("offset", "-1")],
    )
    .await;
    assert_eq!(size, json!({"data": "", "offset": 12}));
    let (_, past) = get(
        &agent,
        "/files/read",
        &[("path", &stdout_path), ("offset", "100")],
    )
    .await;
    assert_eq!(past, json!({"data": "", "offset": 100}));
    let (status, negative) = get(
        &agent,
        "/files/read",
        &[("path", &stdout_path), ("offset", "-5")],
    )
    .await;
    assert_eq!(status, 400, "{negative}");

    let url = reqwest::Url::parse_with_params(
        &format!("http://{}/files/download", agent.addr),
        &[("path", &format!("{sandbox}/stderr"))],
    )
    .expect("a URL");
    let download = corral_client::client_tls::client()
        .get(url)
        .send()
        .await
        .expect("agent answers");
    assert_eq!(download.status(), 200);
    assert_eq!(download.text().await.expect("body"), "oops\n");

    // Larger than one chunk of the stream.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(format!("{sandbox}/big.bin"), &big).expect("write");
    let url = reqwest::Url::parse_with_params(
        &format!("http://{}/files/download", agent.addr),
        &[("path", &format!("{sandbox}/big.bin"))],
    )
    .expect("a URL");
    let body = crate::tests::support::http_get(url)
        .await
        .expect("agent answers")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.as_ref(), big.as_slice());
}

#[tokio::test]
async fn list_files_and_read_file_calls() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let (agent, sandbox) = agent_with_echo(&master, work.path()).await;

    let (status, listed) = call(
        &agent,
        json!({"type": "LIST_FILES", "list_files": {"path": sandbox}}),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["type"], "LIST_FILES");
    let infos = listed["list_files"]["file_infos"]
        .as_array()
        .expect("file_infos");
    let stdout = infos
        .iter()
        .find(|f| f["path"] == format!("{sandbox}/stdout"))
        .expect("stdout listed");
    assert_eq!(stdout["size"], 12);
    assert_eq!(stdout["mode"].as_u64().expect("st_mode") & 0o777, 0o644);
    assert!(stdout["mtime"]["nanoseconds"].as_i64().expect("TimeInfo") > 0);

    let (status, read) = call(
        &agent,
        json!({"type": "READ_FILE",
               "read_file": {"path": format!("{sandbox}/stdout"), "offset": 6, "length": 5}}),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["read_file"]["size"], 12);
    let data = base64::engine::general_purpose::STANDARD
        .decode(read["read_file"]["data"].as_str().expect("base64 data"))
        .expect("valid base64");
    assert_eq!(data, b"world");

    let (status, read) = call(
        &agent,
        json!({"type": "READ_FILE",
               "read_file": {"path": format!("{sandbox}/stdout"), "offset": "0", "length": "5"}}),
    )
    .await;
    assert_eq!(
        status, 200,
        "uint64 as strings, as protobuf JSON writes them: {read}"
    );
    assert_eq!(read["read_file"]["data"], "aGVsbG8=", "base64 of 'hello'");
    let (status, _) = call(
        &agent,
        json!({"type": "READ_FILE",
               "read_file": {"path": format!("{sandbox}/stdout"), "offset": -3}}),
    )
    .await;
    assert_eq!(status, 400);

    let (status, missing) = call(
        &agent,
        json!({"type": "READ_FILE", "read_file": {"path": format!("{sandbox}/nothing")}}),
    )
    .await;
    assert_eq!(status, 404, "{missing}");
    let (status, _) = call(&agent, json!({"type": "LIST_FILES"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn unknown_paths_are_404_and_escapes_are_refused() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let (agent, sandbox) = agent_with_echo(&master, work.path()).await;

    let (status, body) = get(
        &agent,
        "/files/read",
        &[("path", &format!("{sandbox}/nope"))],
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("does not exist")
    );
    let (status, body) = get(&agent, "/files/browse", &[("path", "/etc")]).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("not in the sandbox of any task")
    );
    let (status, _) = get(&agent, "/files/browse", &[]).await;
    assert_eq!(status, 400, "a path is required");
    // The agent's own files beside the sandboxes are not served.
    let meta = work.path().join("meta").display().to_string();
    let (status, _) = get(&agent, "/files/browse", &[("path", &meta)]).await;
    assert_eq!(status, 404);
    // The sandbox root and a framework's level hold many tasks' sandboxes: not browsed
    // (a task's runs, and each ended task's sandbox, stay reachable there).
    let root = agent_state(&agent).await["sandbox_root"]
        .as_str()
        .expect("sandbox_root")
        .to_string();
    assert!(sandbox.starts_with(&root), "{sandbox} under {root}");
    for above in [root.clone(), format!("{root}/{FRAMEWORK}")] {
        let (status, body) = get(&agent, "/files/browse", &[("path", &above)]).await;
        assert_eq!(status, 403, "{above}: {body}");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("many tasks")
        );
    }

    let runs = std::path::Path::new(&sandbox)
        .parent()
        .expect("the task's runs")
        .display()
        .to_string();
    let (status, listing) = get(&agent, "/files/browse", &[("path", &runs)]).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing[0]["path"], sandbox.as_str());

    // A hard link the task made to a file outside its sandbox is not served.
    let outside = work.path().join("outside-secret");
    std::fs::write(&outside, "secret").expect("write");
    std::fs::hard_link(&outside, format!("{sandbox}/hard-link")).expect("hard link");
    let (status, body) = get(
        &agent,
        "/files/read",
        &[("path", &format!("{sandbox}/hard-link"))],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("hard links")
    );

    let dotdot = format!("{sandbox}/../../../../../../etc/passwd");
    let (status, body) = get(&agent, "/files/read", &[("path", &dotdot)]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().expect("message").contains(".."));

    // A symlink the task made, pointing out of its sandbox.
    std::os::unix::fs::symlink("/etc", format!("{sandbox}/etc-link")).expect("symlink");
    std::os::unix::fs::symlink("stdout", format!("{sandbox}/out-link")).expect("symlink");
    let escape = format!("{sandbox}/etc-link/passwd");
    let (status, body) = get(&agent, "/files/read", &[("path", &escape)]).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("outside its sandbox")
    );
    let (status, _) = get(
        &agent,
        "/files/browse",
        &[("path", &format!("{sandbox}/etc-link"))],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &agent,
        json!({"type": "READ_FILE", "read_file": {"path": escape}}),
    )
    .await;
    assert_eq!(status, 403);
    // A symlink that stays inside is fine.
    let (status, body) = get(
        &agent,
        "/files/read",
        &[("path", &format!("{sandbox}/out-link"))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], "hello\nworld\n");

    // The agent still serves after all that.
    let (status, _) = get(&agent, "/files/browse", &[("path", &sandbox)]).await;
    assert_eq!(status, 200);
}
