//! `access_sandboxes` on a real agent (`corral agent --acls`, apache/mesos
//! docs/authorization.md): the principal the ACLs name reads a task's sandbox through
//! `/files` and the agent's READ_FILE; another principal and an anonymous caller get 403
//! naming the action; ACLs no Corral server enforces stop it at start, naming them.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use corral_e2e::calls::{basic_client, status_and_text};
use corral_e2e::{Cluster, Framework, corral_bin, framework_info, task};

const OWNER: (&str, &str) = ("fw", "fw-secret");
const OTHER: (&str, &str) = ("other", "other-secret");

/// Only `fw` may read sandboxes, of tasks run as any user.
const ACLS: &str = r#"{"access_sandboxes": [
    {"principals": {"values": ["fw"]}, "users": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#;

async fn get(url: &str, caller: Option<(&str, &str)>) -> (u16, String) {
    let answer = basic_client(caller)
        .get(url)
        .send()
        .await
        .expect("the agent answers");
    status_and_text(answer).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_principal_the_acls_name_reads_a_sandbox() {
    let files = tempfile::tempdir().expect("temp dir");
    let credentials = files.path().join("credentials");
    std::fs::write(&credentials, "fw fw-secret\nother other-secret\n").expect("write");
    let acls = files.path().join("acls.json");
    std::fs::write(&acls, ACLS).expect("write");
    let mut cluster = Cluster::master(&[]).await;
    let flags = [
        "--credentials",
        &credentials.display().to_string(),
        "--acls",
        &acls.display().to_string(),
    ]
    .map(String::from);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    cluster.add_agent("cpus:2;mem:1024;disk:1024", &flags).await;
    let (master, agent) = (cluster.master_addr.clone(), cluster.agent_addrs[0].clone());

    let mut framework = Framework::subscribe(&master, framework_info("owner", json!({}))).await;
    let offer = framework.offers(10).await.remove(0);
    let echo = task("echo", &offer, "echo sandboxed; sleep 30", 0.1, 16.0);
    assert_eq!(framework.launch(&offer, vec![echo], 0.0).await, 202);
    framework.task_states(&[("echo", "TASK_RUNNING")], 20).await;

    let (status, state) = get(&format!("http://{agent}/slave(1)/state"), None).await;
    assert_eq!(status, 200, "{state}");
    let state: Value = serde_json::from_str(&state).expect("state is JSON");
    let directory = state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .expect("the task's sandbox")
        .to_string();
    let read = format!("http://{agent}/files/read?path={directory}/stdout&offset=0");

    let (status, text) = get(&read, Some(OWNER)).await;
    assert_eq!(status, 200, "{text}");
    let for_others = [Some(OTHER), None];
    for caller in for_others {
        let (status, text) = get(&read, caller).await;
        assert_eq!(status, 403, "{caller:?}: {text}");
        assert!(text.contains("access_sandboxes"), "{text}");
    }
    let browse = format!("http://{agent}/files/browse?path={directory}");
    assert_eq!(get(&browse, Some(OTHER)).await.0, 403);
    assert_eq!(get(&browse, Some(OWNER)).await.0, 200);

    // The agent's v1 READ_FILE answers as its /files do.
    let call = json!({"type": "READ_FILE", "read_file": {"path": format!("{directory}/stdout"),
        "offset": 0}});
    for (caller, expected) in [(Some(OWNER), 200), (Some(OTHER), 403)] {
        let answer = basic_client(caller)
            .post(format!("http://{agent}/api/v1"))
            .json(&call)
            .send()
            .await
            .expect("the agent answers");
        assert_eq!(answer.status().as_u16(), expected, "{caller:?}");
    }

    // ACLs for an action no Corral server enforces stop the agent, naming the action (the
    // master's own actions are accepted: one file serves both, as in Mesos).
    let unenforced =
        r#"{"manage_jobs": [{"principals": {"type": "ANY"}, "jobs": {"type": "ANY"}}]}"#;
    let out = Command::new(corral_bin())
        .args(["agent", "--master", &master, "--acls", unenforced])
        .stdin(Stdio::null())
        .output()
        .expect("corral runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with unenforced ACLs");
    assert!(stderr.contains("manage_jobs"), "{stderr}");
}
