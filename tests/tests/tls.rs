//! TLS on real processes, with certificates made in the test (rcgen): a master serving HTTPS
//! that requires client certificates of its CA (mutual TLS); an agent that registers with it
//! over https presenting its own certificate, and serves its API over TLS; `corral execute`
//! running a task through it, the task fetching a URI over https. Plain HTTP to the TLS
//! port, a client without a certificate, and one whose certificate another CA signed (an
//! agent included) are refused. The master requires agents and writers to authenticate and
//! has no credentials file: a client certificate of its CA is the holder's identity.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use corral_e2e::calls::active_agent_ids;
use corral_e2e::{Process, corral_bin, eventually, free_port, http_client_builder, http_get};
use corral_test_fixtures::pki::{Leaf, LeafFiles, TestCa};

/// A client trusting only `ca`, presenting `identity` if given.
fn client(ca: &TestCa, identity: Option<&Leaf>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).expect("CA certificate");
    let mut builder = http_client_builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10));
    if let Some(leaf) = identity {
        let pem = format!("{}{}", leaf.cert_pem, leaf.key_pem);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("an HTTPS client")
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The flags of a component that trusts `ca`, presents `client` to the master and serves
/// TLS with `server`.
fn tls_flags(ca: &str, client: &LeafFiles, server: &LeafFiles) -> Vec<String> {
    [
        "--tls-ca",
        ca,
        "--tls-client-cert",
        &path(&client.cert),
        "--tls-client-key",
        &path(&client.key),
        "--tls-cert",
        &path(&server.cert),
        "--tls-key",
        &path(&server.key),
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_between_agent_master_and_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("Corral e2e CA");
    let ca_file = path(&ca.write(dir.path(), "ca"));
    let server = ca.server(&["localhost", "127.0.0.1"]);
    let server_files = server.write(dir.path(), "server");
    let agent_leaf = ca.client("agent-1");
    let agent_files = agent_leaf.write(dir.path(), "agent");
    let stranger_leaf = TestCa::new("Another CA").client("agent-1");
    let stranger_files = stranger_leaf.write(dir.path(), "stranger");

    let port = free_port();
    let master = Process::start(
        "master",
        &[
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
            &path(&server_files.cert),
            "--tls-key",
            &path(&server_files.key),
            "--tls-client-ca",
            &ca_file,
            // No credentials file: a client certificate of the CA identifies its holder.
            "--authenticate-agents",
            "--authenticate-http-readwrite",
        ]
        .map(String::from),
        dir.path(),
    );
    let base = format!("https://127.0.0.1:{port}");
    let trusted = client(&ca, Some(&agent_leaf));
    eventually(60, "the master to answer over https", || {
        let request = trusted.get(format!("{base}/health")).send();
        async move {
            request
                .await
                .is_ok_and(|r| r.status().is_success())
                .then_some(())
        }
    })
    .await;

    // Plain HTTP to the TLS port gets no answer; nor does a client without a certificate,
    // nor one whose certificate another CA signed.
    let plain = http_get(format!("http://127.0.0.1:{port}/health")).await;
    assert!(plain.is_err(), "plain HTTP was served: {plain:?}");
    let anonymous = client(&ca, None).get(format!("{base}/health")).send().await;
    assert!(
        anonymous.is_err(),
        "served without a client certificate: {anonymous:?}"
    );
    let foreign = client(&ca, Some(&stranger_leaf))
        .get(format!("{base}/health"))
        .send()
        .await;
    assert!(foreign.is_err(), "served another CA's client: {foreign:?}");

    let agent_args = |name: &str, identity: &LeafFiles| {
        [
            "agent",
            "--master",
            &base,
            "--ip",
            "127.0.0.1",
            "--port",
            &free_port().to_string(),
            "--work-dir",
            &path(&dir.path().join(name)),
            "--resources",
            "cpus:2;mem:1024;disk:1024",
            "--tls-ca",
            &ca_file,
            "--tls-client-cert",
            &path(&identity.cert),
            "--tls-client-key",
            &path(&identity.key),
        ]
        .map(String::from)
        .to_vec()
    };
    // An agent presenting another CA's certificate never registers.
    let stranger = Process::start(
        "stranger-agent",
        &agent_args("stranger", &stranger_files),
        dir.path(),
    );
    // The real agent also serves its own API over TLS (no client CA: anyone with the CA may
    // read it), and its fetcher trusts the test's CA as a system root.
    let agent_port = free_port();
    let mut args = agent_args("agent", &agent_files);
    let at = args.iter().position(|a| a == "--port").expect("--port") + 1;
    args[at] = agent_port.to_string();
    args.extend(
        [
            "--tls-cert",
            &path(&server_files.cert),
            "--tls-key",
            &path(&server_files.key),
        ]
        .map(String::from),
    );
    let agent = Process::start_with_env("agent", &args, dir.path(), &[("SSL_CERT_FILE", &ca_file)]);
    eventually(30, "the agent to register over mutual TLS", || {
        let (trusted, base) = (trusted.clone(), base.clone());
        async move { (active_agent_ids(&trusted, &base).await.len() == 1).then_some(()) }
    })
    .await;
    // A write by a client presenting only its certificate is that certificate's principal.
    let weights = json!({"type": "UPDATE_WEIGHTS",
        "update_weights": {"weight_infos": [{"role": "dev", "weight": 2.0}]}});
    let answer = trusted
        .post(format!("{base}/api/v1"))
        .json(&weights)
        .send()
        .await
        .expect("the master answers");
    assert_eq!(answer.status(), 200);
    let audited = master.log_text();
    assert!(
        audited.contains("principal=\"agent-1\" method=POST path=\"/api/v1\""),
        "the audit line names the certificate's principal:\n{audited}"
    );
    let agent_api = format!("https://127.0.0.1:{agent_port}");
    let health = client(&ca, None)
        .get(format!("{agent_api}/health"))
        .send()
        .await;
    assert!(
        health.is_ok_and(|r| r.status().is_success()),
        "the agent's API over TLS\n{}",
        agent.log_text()
    );
    let plain = http_get(format!("http://127.0.0.1:{agent_port}/health")).await;
    assert!(plain.is_err(), "the agent served plain HTTP: {plain:?}");

    // The CLI runs a task over mutual TLS; the task's URI comes over https.
    let master_flag = base.clone();
    let agent_cert = path(&agent_files.cert);
    let agent_key = path(&agent_files.key);
    let ca_flag = ca_file.clone();
    let uri = format!("{agent_api}/health");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(corral_bin())
            .args([
                "execute",
                "--master",
                &master_flag,
                "--tls-ca",
                &ca_flag,
                "--tls-client-cert",
                &agent_cert,
                "--tls-client-key",
                &agent_key,
                "--name",
                "over-tls",
                "--uri",
                &uri,
                "--command",
                "test -f health",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("corral execute runs")
    })
    .await
    .expect("the CLI ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("TASK_FINISHED"),
        "corral execute over TLS: {:?}\n{stdout}\n{stderr}\n{}",
        out.status,
        agent.log_text()
    );

    // Without the client certificate the CLI is refused, with a reason.
    let out = Command::new(corral_bin())
        .args(["roles", "--master", &base, "--tls-ca", &ca_file])
        .stdin(Stdio::null())
        .output()
        .expect("corral runs");
    assert!(!out.status.success(), "served a CLI without a certificate");

    // The services API (Marathon's) serves TLS too, and registers its framework with the
    // master over mutual TLS.
    let services_port = free_port();
    let services = Process::start(
        "services",
        &[
            "services",
            "--master",
            &base,
            "--ip",
            "127.0.0.1",
            "--port",
            &services_port.to_string(),
            "--hostname",
            "localhost",
            "--state",
            &format!("file://{}", path(&dir.path().join("services.redb"))),
        ]
        .map(String::from)
        .into_iter()
        .chain(tls_flags(&ca_file, &agent_files, &server_files))
        .collect::<Vec<_>>(),
        dir.path(),
    );
    let marathon = format!("https://127.0.0.1:{services_port}");
    let reader = client(&ca, None);
    let leader = eventually(60, "the services API to answer over https", || {
        let request = reader.get(format!("{marathon}/v2/info")).send();
        async move {
            let answer = request.await.ok().filter(|r| r.status().is_success())?;
            answer
                .headers()
                .get("x-marathon-leader")
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        }
    })
    .await;
    assert_eq!(leader, format!("https://localhost:{services_port}"));
    eventually(
        30,
        "the services framework to subscribe over mutual TLS",
        || {
            let request = trusted
                .post(format!("{base}/api/v1"))
                .json(&json!({"type": "GET_FRAMEWORKS"}))
                .send();
            async move {
                let body: Value = request.await.ok()?.json().await.ok()?;
                body["get_frameworks"]["frameworks"]
                    .as_array()?
                    .iter()
                    .any(|f| f["framework_info"]["name"] == "marathon")
                    .then_some(())
            }
        },
    )
    .await;
    // Its webui_url is https://, and the master's gateway calls it there, trusting the CA it
    // trusts for clients (`--agent-ca` falls back to `--tls-client-ca`).
    let via_gateway = eventually(
        30,
        "/service/marathon/ through the master over https",
        || {
            let request = trusted
                .get(format!("{base}/service/marathon/v2/info"))
                .send();
            async move {
                let answer = request.await.ok().filter(|r| r.status().is_success())?;
                answer.json::<Value>().await.ok()
            }
        },
    )
    .await;
    assert_eq!(via_gateway["name"], "marathon", "{via_gateway}");
    drop(services);

    // The DNS server follows the master over mutual TLS and serves its HTTP API over TLS:
    // leader.mesos resolves once its feed has the master's state.
    let dns_api = free_port();
    let dns = Process::start(
        "dns",
        &[
            "dns",
            "--master",
            &base,
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--http-listen",
            &format!("127.0.0.1:{dns_api}"),
        ]
        .map(String::from)
        .into_iter()
        .chain(tls_flags(&ca_file, &agent_files, &server_files))
        .collect::<Vec<_>>(),
        dir.path(),
    );
    let leader_ip = eventually(60, "leader.mesos over the DNS server's https API", || {
        let request = reader
            .get(format!("https://127.0.0.1:{dns_api}/v1/hosts/leader.mesos"))
            .send();
        async move {
            let body: Value = request.await.ok()?.json().await.ok()?;
            body[0]["ip"]
                .as_str()
                .filter(|ip| !ip.is_empty())
                .map(String::from)
        }
    })
    .await;
    assert_eq!(leader_ip, "127.0.0.1", "{}", dns.log_text());
    drop(dns);

    // The stranger was turned away at the handshake, and said so.
    let log = stranger
        .wait_for_log("cannot register with the master", 30)
        .await;
    assert!(
        log.contains("UnknownCA"),
        "the refusal names the TLS failure:\n{log}"
    );
    assert_eq!(
        active_agent_ids(&trusted, &base).await.len(),
        1,
        "only the agent with the CA's certificate registered\n{log}"
    );
    drop(master);
}
