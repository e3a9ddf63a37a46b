//! Agents that restart re-register with their id, and status updates are delivered at least
//! once: resent until the framework acknowledges them.

use corral_e2e::{Cluster, Framework, framework_info, operator, task};
use serde_json::{Value, json};

async fn agent_ids(master: &str) -> Vec<(String, bool)> {
    let v = operator(master, "GET_AGENTS").await.expect("GET_AGENTS");
    v["get_agents"]["agents"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|a| {
                    (
                        a["agent_info"]["id"]["value"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        a["active"] == Value::Bool(true),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_reregisters_with_the_same_id() {
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:1;mem:512", &[]).await;
    let before = agent_ids(&cluster.master_addr).await;
    assert_eq!(before.len(), 1);
    let id = before[0].0.clone();

    let old_pid = cluster.agents[0].pid();
    cluster.agents[0].restart();
    assert_ne!(cluster.agents[0].pid(), old_pid, "a new agent process");
    let master = cluster.master_addr.clone();
    // The master logs the re-registration (the state from before the restart alone would
    // also show one active agent with this id).
    corral_e2e::eventually(30, "the restarted agent to re-register", || {
        let (master, id) = (master.clone(), id.clone());
        let reregistered = cluster
            .master
            .log_text()
            .lines()
            .any(|l| l.contains(&format!("agent={id} ")) && l.contains("reregistering=true"));
        async move {
            let now = agent_ids(&master).await;
            (reregistered && now.len() == 1 && now[0].0 == id && now[0].1).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_updates_are_resent_until_acknowledged() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:1;mem:512", &["--status-update-retry", "300ms"])
        .await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("no-acks", json!({}))).await;
    let offer = fw.offers(10).await.remove(0);
    assert_eq!(
        fw.launch(&offer, vec![task("t", &offer, "sleep 30", 0.1, 32.0)], 5.0)
            .await,
        202
    );

    // Do not acknowledge: the first update must come again with the same uuid, and no later
    // update of that task may overtake it.
    let first = fw
        .wait_for(10, false, "first update", |e| e["type"] == "UPDATE")
        .await;
    let uuid = first["update"]["status"]["uuid"].clone();
    assert!(uuid.is_string(), "{first}");
    let again = fw
        .wait_for(10, false, "the same update again", |e| {
            e["type"] == "UPDATE"
        })
        .await;
    assert_eq!(
        again["update"]["status"]["uuid"], uuid,
        "resent in order: {again}"
    );

    // Acknowledge: the next state arrives with a new uuid.
    fw.ack(&first["update"]["status"]).await;
    let next = fw
        .wait_for(10, false, "the next update", |e| {
            e["type"] == "UPDATE" && e["update"]["status"]["uuid"] != uuid
        })
        .await;
    assert_eq!(next["update"]["status"]["task_id"]["value"], "t");
}
