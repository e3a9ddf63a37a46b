//! The master's calls to agents over TLS, with real processes and certificates made in the
//! test (rcgen): an agent serving only https and requiring client certificates of the
//! cluster's CA says so when it subscribes; the master pings it over https presenting its own
//! certificate, so it stays active and its task running; a sandbox file is read through the
//! master's `/agent/{id}/` gateway (with the caller's credentials, which the agent checks)
//! and by `corral task logs` (which goes to the agent over https with its own certificate);
//! a request without credentials is not lent the master's certificate.
//! A master with no CA for agents cannot verify such an agent: it says why, and its pings
//! count as missed. The public state JSON has no new key.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use corral_e2e::calls::active_agent_ids;
use corral_e2e::{Process, corral_bin, eventually, free_port, http_client_builder};
use corral_test_fixtures::pki::{Leaf, LeafFiles, TestCa};

/// Short pings: a master that cannot ping an agent marks it unreachable within seconds.
const PING_FLAGS: [&str; 4] = [
    "--agent-ping-timeout",
    "1secs",
    "--max-agent-ping-timeouts",
    "3",
];
/// Master A's: a ping every 2 s, so that a TLS handshake slowed by a loaded machine is not
/// taken for a missed ping; still at least one ping in the time master B gives up.
const TLS_PING_FLAGS: [&str; 4] = [
    "--agent-ping-timeout",
    "2secs",
    "--max-agent-ping-timeouts",
    "3",
];
const OPERATOR: (&str, &str) = ("operator", "s3cret-op");
/// Known to master A, not to its agent.
const VISITOR: (&str, &str) = ("visitor", "s3cret-vi");

/// A client trusting only `ca`, presenting `identity`.
fn client(ca: &TestCa, identity: &Leaf) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).expect("CA certificate");
    let pem = format!("{}{}", identity.cert_pem, identity.key_pem);
    http_client_builder()
        .tls_certs_only([ca])
        .identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTPS client")
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// `corral execute` left running; killed when the test ends.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An agent serving only https with `server`, requiring client certificates of `ca_file`
/// and the operator's credentials for reads, registering with `master` as `agent-1`.
fn tls_agent(
    dir: &Path,
    name: &str,
    master: &str,
    ca_file: &str,
    credentials: &str,
    identity: &LeafFiles,
    server: &LeafFiles,
) -> Process {
    let port = free_port();
    Process::start(
        name,
        &args(&[
            "agent",
            "--master",
            master,
            "--ip",
            "127.0.0.1",
            // The name the master checks the agent's certificate against.
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--work-dir",
            &path(&dir.join(name)),
            "--resources",
            "cpus:2;mem:1024;disk:1024",
            "--tls-ca",
            ca_file,
            "--tls-client-cert",
            &path(&identity.cert),
            "--tls-client-key",
            &path(&identity.key),
            "--tls-cert",
            &path(&server.cert),
            "--tls-key",
            &path(&server.key),
            "--tls-client-ca",
            ca_file,
            "--credentials",
            credentials,
            "--authenticate-http-readonly",
        ]),
        dir,
    )
}

async fn operator_call(http: &reqwest::Client, base: &str, call: &str) -> Value {
    http.post(format!("{base}/api/v1"))
        .json(&json!({ "type": call }))
        .send()
        .await
        .expect("the master answers")
        .json()
        .await
        .expect("JSON")
}

async fn task_state(http: &reqwest::Client, base: &str, name: &str) -> Option<String> {
    let tasks = operator_call(http, base, "GET_TASKS").await;
    tasks["get_tasks"]["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["state"].as_str().map(String::from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_agent_is_pinged_and_reached_over_https() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("Corral e2e CA");
    let ca_file = path(&ca.write(dir.path(), "ca"));
    let names = ["localhost", "127.0.0.1"];
    // The master's certificate is also a client's: it presents it to agents.
    let master_files = ca.peer(&names, "master").write(dir.path(), "master");
    let agent_server = ca.server(&names).write(dir.path(), "agent-server");
    let agent_files = ca.client("agent-1").write(dir.path(), "agent");
    let operator_leaf = ca.client(OPERATOR.0);
    let operator_files = operator_leaf.write(dir.path(), "operator");
    let credentials_file = |name: &str, who: &[(&str, &str)]| {
        let file = dir.path().join(name);
        let list: Vec<Value> = who
            .iter()
            .map(|(principal, secret)| json!({"principal": principal, "secret": secret}))
            .collect();
        std::fs::write(&file, json!({ "credentials": list }).to_string()).expect("credentials");
        path(&file)
    };
    let master_credentials = credentials_file("master-credentials.json", &[OPERATOR, VISITOR]);
    let credentials = credentials_file("agent-credentials.json", &[OPERATOR]);

    // Master A: TLS with a client CA, which is also its CA for agents (no --agent-ca).
    let port = free_port();
    let mut master_args = args(&[
        "master",
        "--ip",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--state",
        "memory",
        "--allocation-interval",
        "200ms",
        "--tls-cert",
        &path(&master_files.cert),
        "--tls-key",
        &path(&master_files.key),
        "--tls-client-ca",
        &ca_file,
        "--credentials",
        &master_credentials,
        "--authenticate-agents",
    ]);
    master_args.extend(args(&TLS_PING_FLAGS));
    let master = Process::start("master", &master_args, dir.path());
    let base = format!("https://127.0.0.1:{port}");
    let http = client(&ca, &operator_leaf);
    eventually(60, "the master to answer over https", || {
        let request = http.get(format!("{base}/health")).send();
        async move { request.await.ok()?.status().is_success().then_some(()) }
    })
    .await;
    let agent = tls_agent(
        dir.path(),
        "agent",
        &base,
        &ca_file,
        &credentials,
        &agent_files,
        &agent_server,
    );
    let agent_id = eventually(30, "the TLS agent to register", || {
        let (http, base) = (http.clone(), base.clone());
        async move { active_agent_ids(&http, &base).await.pop() }
    })
    .await;

    // A task that writes to its sandbox and keeps running.
    let _execute = Background(
        Command::new(corral_bin())
            .args([
                "execute",
                "--master",
                &base,
                "--tls-ca",
                &ca_file,
                "--tls-client-cert",
                &path(&operator_files.cert),
                "--tls-client-key",
                &path(&operator_files.key),
                "--name",
                "sandboxed",
                "--command",
                "echo written-in-the-sandbox; sleep 300",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("corral execute starts"),
    );
    eventually(60, "the task to run", || {
        let (http, base) = (http.clone(), base.clone());
        async move {
            (task_state(&http, &base, "sandboxed-1").await.as_deref() == Some("TASK_RUNNING"))
                .then_some(())
        }
    })
    .await;

    // Master B: plain http, no CA for agents. It cannot verify its TLS agent, says why, and
    // marks it unreachable after three missed pings.
    let plain_port = free_port();
    let mut plain_args = args(&[
        "master",
        "--ip",
        "127.0.0.1",
        "--port",
        &plain_port.to_string(),
        "--state",
        "memory",
    ]);
    plain_args.extend(args(&PING_FLAGS));
    let plain_master = Process::start("plain-master", &plain_args, dir.path());
    let plain_base = format!("http://127.0.0.1:{plain_port}");
    let _unverified = tls_agent(
        dir.path(),
        "unverified-agent",
        &plain_base,
        &ca_file,
        &credentials,
        &agent_files,
        &agent_server,
    );
    // Master B gives up pinging its agent.
    let log = plain_master
        .wait_for_log("agent unreachable: it missed its pings", 60)
        .await;
    assert!(
        log.contains("cannot ping the agent over https")
            && log.contains("the master has no CA to verify agents' certificates"),
        "master B says why it cannot ping:\n{log}"
    );

    // Master A, its agent registered earlier, has pinged it meanwhile, over https: it is
    // still active and its task still runs.
    assert_eq!(
        active_agent_ids(&http, &base).await,
        vec![agent_id.clone()],
        "{}",
        master.log_text()
    );
    assert_eq!(
        task_state(&http, &base, "sandboxed-1").await.as_deref(),
        Some("TASK_RUNNING")
    );
    let log = master.log_text();
    assert!(
        !log.contains("missed its pings") && !log.contains("cannot ping"),
        "master A pinged its agent over https:\n{log}"
    );
    // Every ping was a handshake the agent accepted: plain http, or no certificate, would
    // have been logged as a failed one (as the anonymous request below is).
    let agent_log = agent.log_text();
    assert!(
        !agent_log.contains("TLS handshake failed"),
        "the agent accepted every ping's handshake:\n{agent_log}"
    );

    // The sandbox through the master's gateway, with the operator's credentials, which the
    // agent checks (it requires them for reads).
    let gateway = format!("{base}/agent/{agent_id}");
    let state: Value = http
        .get(format!("{gateway}/slave(1)/state"))
        .basic_auth(OPERATOR.0, Some(OPERATOR.1))
        .send()
        .await
        .expect("the gateway answers")
        .json()
        .await
        .expect("the agent's state");
    let directory = state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .unwrap_or_else(|| panic!("a sandbox directory in {state:#}"))
        .to_string();
    let read = format!("{gateway}/files/read?path={directory}/stdout&offset=0");
    let file: Value = eventually(30, "the task's stdout through the gateway", || {
        let request = http
            .get(&read)
            .basic_auth(OPERATOR.0, Some(OPERATOR.1))
            .send();
        async move {
            let file: Value = request.await.ok()?.json().await.ok()?;
            file["data"]
                .as_str()?
                .contains("written-in-the-sandbox")
                .then_some(file)
        }
    })
    .await;
    assert_eq!(file["offset"], 0, "{file}");
    // The agent checks the forwarded credentials itself: the master knows the visitor, the
    // agent does not.
    let refused = http
        .get(&read)
        .basic_auth(VISITOR.0, Some(VISITOR.1))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers().get("www-authenticate").is_some(),
        "the agent's challenge comes back"
    );
    // Without credentials of its own a request is not lent the master's certificate: the
    // agent, which requires one, refuses it at the handshake, and the answer says so.
    let anonymous = http.get(&read).send().await.expect("answers");
    assert_eq!(anonymous.status(), 502);
    let why = anonymous.text().await.unwrap_or_default();
    assert!(why.contains("only with the caller's own"), "{why}");
    agent.wait_for_log("TLS handshake failed", 10).await;

    // The CLI reads it from the agent over https, presenting the operator's certificate.
    let out = tokio::task::spawn_blocking({
        let (base, ca_file) = (base.clone(), ca_file.clone());
        let (cert, key) = (path(&operator_files.cert), path(&operator_files.key));
        move || {
            Command::new(corral_bin())
                .args([
                    "task",
                    "logs",
                    "sandboxed-1",
                    "--master",
                    &base,
                    "--tls-ca",
                    &ca_file,
                    "--tls-client-cert",
                    &cert,
                    "--tls-client-key",
                    &key,
                ])
                .stdin(Stdio::null())
                .output()
                .expect("corral runs")
        }
    })
    .await
    .expect("the CLI ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("written-in-the-sandbox"),
        "corral task logs over https: {:?}\n{stdout}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        agent.log_text()
    );

    // What the master keeps of the scheme shows in no public state.
    let agents = operator_call(&http, &base, "GET_AGENTS").await;
    let v1 = agents["get_agents"]["agents"][0].to_string();
    let v0: Value = http
        .get(format!("{base}/master/state"))
        .send()
        .await
        .expect("v0 state")
        .json()
        .await
        .expect("JSON");
    let slave = v0["slaves"][0].to_string();
    for entry in [v1, slave] {
        assert!(entry.contains(&agent_id), "{entry}");
        assert!(
            !entry.contains("scheme") && !entry.contains("https"),
            "no new key in {entry}"
        );
    }
}
