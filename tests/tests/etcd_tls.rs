//! TLS to etcd on real processes, with certificates made in the test (rcgen): an etcd that
//! serves TLS and requires client certificates of its CA; a master keeping its registry
//! there (`--state etcd://... --etcd-ca --etcd-cert --etcd-key`) registers an agent that
//! finds it through the same etcd (`--master etcd://...`), runs a task, and, killed with -9
//! and started again, reads the agent and the framework back from etcd. The CLI finds the
//! leader through it too. A master without the CA, with another CA's certificate, or
//! trusting another CA refuses to start, saying why.

use std::path::Path;
use std::process::Command;

use corral_e2e::etcd_cluster::EtcdTlsFiles;
use corral_e2e::registry_recovery::{ids, restart_master_from_registry};
use corral_e2e::{
    Cluster, EtcdCluster, Framework, Process, corral_bin, framework_info, free_port, operator, task,
};
use corral_test_fixtures::pki::{LeafFiles, TestCa};
use serde_json::json;

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The `--etcd-*` flags trusting `ca` and presenting `client`.
fn etcd_flags(ca: &Path, client: &LeafFiles) -> Vec<String> {
    vec![
        "--etcd-ca".into(),
        path(ca),
        "--etcd-cert".into(),
        path(&client.cert),
        "--etcd-key".into(),
        path(&client.key),
    ]
}

/// An etcd serving TLS with a certificate `ca` signed, requiring client certificates of it.
fn tls_etcd(dir: &Path, ca: &TestCa, ca_file: &Path) -> EtcdCluster {
    let server = ca
        .server(&["localhost", "127.0.0.1"])
        .write(dir, "etcd-server");
    EtcdCluster::start_tls(
        1,
        EtcdTlsFiles {
            cert: server.cert,
            key: server.key,
            client_ca: ca_file.to_path_buf(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_keeps_its_registry_in_an_etcd_that_requires_client_certificates() {
    let pki = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("etcd CA");
    let ca_file = ca.write(pki.path(), "etcd-ca");
    let master_leaf = ca.client("corral-master").write(pki.path(), "master");
    let agent_leaf = ca.client("corral-agent").write(pki.path(), "agent");
    let etcd = tls_etcd(pki.path(), &ca, &ca_file);
    let state = etcd.state_url();

    let master_flags = etcd_flags(&ca_file, &master_leaf);
    let master_flags: Vec<&str> = master_flags.iter().map(String::as_str).collect();
    let mut cluster = Cluster::master_with_state(&state, &master_flags).await;

    // The agent finds the master through the masters' etcd, over TLS with its own
    // certificate.
    let agent_port = free_port();
    let mut agent_args: Vec<String> = [
        "agent",
        "--master",
        &state,
        "--ip",
        "127.0.0.1",
        "--port",
        &agent_port.to_string(),
        "--work-dir",
        &path(&cluster.dir.path().join("agent0")),
        "--resources",
        "cpus:1;mem:512",
    ]
    .map(String::from)
    .to_vec();
    agent_args.extend(etcd_flags(&ca_file, &agent_leaf));
    cluster
        .agents
        .push(Process::start("agent0", &agent_args, cluster.dir.path()));
    cluster.agent_addrs.push(format!("127.0.0.1:{agent_port}"));
    let master = cluster.master_addr.clone();
    let agent_id = corral_e2e::eventually(60, "the agent to register through etcd", || {
        let master = master.clone();
        async move {
            let agents = operator(&master, "GET_AGENTS").await.ok()?;
            ids(
                &agents["get_agents"]["agents"],
                &["agent_info", "id", "value"],
            )
            .pop()
        }
    })
    .await;

    let info = framework_info("etcd-tls", json!({"failover_timeout": 300.0}));
    let mut fw = Framework::subscribe(&master, info.clone()).await;
    let offer = fw.offers(10).await.remove(0);
    assert_eq!(
        fw.launch(
            &offer,
            vec![task("sleeper", &offer, "sleep 300", 0.1, 32.0)],
            5.0
        )
        .await,
        202
    );
    fw.task_state("sleeper", "TASK_RUNNING", 20).await;
    let framework_id = fw.id.clone();
    drop(fw);

    // The CLI reads the leader from the same etcd, over TLS.
    let mut cli = vec!["agents", "--master", &state];
    cli.extend(master_flags.iter().copied());
    let (code, agents, err) = cluster.cli_off_thread(&cli).await;
    assert_eq!(code, 0, "{err}");
    assert!(agents.contains(&format!(":{agent_port} ")), "{agents}");

    restart_master_from_registry(&mut cluster, &agent_id, &framework_id, "etcd over TLS").await;

    // The resumed agent finds the restarted master through etcd and re-registers.
    corral_e2e::eventually(30, "the agent to re-register", || {
        let master = master.clone();
        let agent_id = agent_id.clone();
        async move {
            let v = operator(&master, "GET_AGENTS").await.ok()?;
            let active = ids(&v["get_agents"]["agents"], &["agent_info", "id", "value"]);
            (active == vec![agent_id]).then_some(())
        }
    })
    .await;
}

/// `corral master --state STATE FLAGS...`, which must exit at once with an error: its stderr.
fn master_refused(dir: &Path, state: &str, flags: &[String]) -> String {
    let out = Command::new(corral_bin())
        .args([
            "master",
            "--ip",
            "127.0.0.1",
            "--port",
            "0",
            "--state",
            state,
        ])
        .args(flags)
        .current_dir(dir)
        .output()
        .expect("run corral master");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the master started: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_without_the_right_certificates_refuses_to_start_saying_why() {
    let pki = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("etcd CA");
    let ca_file = ca.write(pki.path(), "etcd-ca");
    let ours = ca.client("corral-master").write(pki.path(), "master");
    let other_ca = TestCa::new("another CA");
    let other_ca_file = other_ca.write(pki.path(), "other-ca");
    let theirs = other_ca
        .client("corral-master")
        .write(pki.path(), "stranger");
    let etcd = tls_etcd(pki.path(), &ca, &ca_file);
    let state = etcd.state_url();
    let tls_state = state.replacen("etcd://", "etcd+tls://", 1);

    // Refused before etcd is asked: the flags alone say what is missing.
    let stderr = master_refused(pki.path(), &tls_state, &[]);
    assert!(
        stderr.contains("etcd+tls:// needs --etcd-ca"),
        "no CA: {stderr}"
    );
    let half = etcd_flags(&ca_file, &ours)[..4].to_vec();
    let stderr = master_refused(pki.path(), &state, &half);
    assert!(
        stderr.contains("--etcd-cert needs --etcd-key"),
        "cert without key: {stderr}"
    );
    let no_ca = etcd_flags(&ca_file, &ours)[2..].to_vec();
    let stderr = master_refused(pki.path(), &state, &no_ca);
    assert!(
        stderr.contains("--etcd-cert needs --etcd-ca"),
        "cert without CA: {stderr}"
    );

    // Refused by the handshake, at once (a TLS failure is not retried): a certificate of
    // another CA, and trusting another CA than the one that signed etcd's.
    for (what, flags) in [
        ("another CA's certificate", etcd_flags(&ca_file, &theirs)),
        ("trusting another CA", etcd_flags(&other_ca_file, &ours)),
    ] {
        let stderr = master_refused(pki.path(), &state, &flags);
        assert!(
            stderr.contains(&format!("TLS to etcd at {tls_state} failed")),
            "{what}: {stderr}"
        );
    }
}
