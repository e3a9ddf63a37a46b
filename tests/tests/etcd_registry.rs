//! A master whose registry is in etcd: killed with -9 and started again on the same etcd
//! and port, it still knows its agent and framework, from etcd alone.

use corral_e2e::registry_recovery::{ids, restart_master_from_registry};
use corral_e2e::{Cluster, EtcdCluster, Framework, framework_info, operator, task};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_restarted_on_the_same_etcd_remembers_agents_and_frameworks() {
    let etcd = EtcdCluster::start(1);
    let mut cluster = Cluster::master_with_state(&etcd.state_url(), &[]).await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let agents = operator(&cluster.master_addr, "GET_AGENTS")
        .await
        .expect("GET_AGENTS");
    let agent_id = ids(
        &agents["get_agents"]["agents"],
        &["agent_info", "id", "value"],
    )
    .pop()
    .expect("one agent");

    let info = framework_info("etcd-survivor", json!({"failover_timeout": 300.0}));
    let mut fw = Framework::subscribe(&cluster.master_addr, info.clone()).await;
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

    let known = restart_master_from_registry(&mut cluster, &agent_id, &framework_id, "etcd").await;
    let master = cluster.master_addr.clone();
    assert_eq!(known[0]["recovered"], Value::Bool(true));
    assert_eq!(known[0]["framework_info"]["name"], "etcd-survivor");

    // The resumed agent re-registers with its id and its running task.
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

    // The framework resubscribes with its id and reconciles its task.
    let mut info = info;
    info["id"] = json!({"value": framework_id});
    let mut fw = Framework::subscribe(&master, info).await;
    assert_eq!(fw.id, framework_id, "resubscribed with the same id");
    let (code, _) = fw
        .call(json!({"type": "RECONCILE", "reconcile": {"tasks": [
            {"task_id": {"value": "sleeper"}},
        ]}}))
        .await;
    assert_eq!(code, 202);
    let update = fw
        .wait_for(20, true, "sleeper reconciled", |e| {
            e["type"] == "UPDATE" && e["update"]["status"]["task_id"]["value"] == "sleeper"
        })
        .await;
    assert_eq!(
        update["update"]["status"]["state"],
        "TASK_RUNNING",
        "{update}\n{}",
        cluster.logs()
    );
    assert_eq!(update["update"]["status"]["agent_id"]["value"], agent_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_etcd_url_is_refused_with_the_flag_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(corral_e2e::corral_bin())
        .args(["master", "--port", "0", "--state", "etcd://127.0.0.1"])
        .current_dir(dir.path())
        .output()
        .expect("run corral master");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--state etcd://"), "{stderr}");
}
