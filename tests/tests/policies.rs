//! The built-in `priority` and `binpack` allocators, chosen with `--allocator` (and
//! configured with `--allocator-config`), on a real master and agents.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_e2e::{Cluster, Framework, framework_info, scalar, task};
use serde_json::json;

/// Launches one task of 1 cpu + 128 MB per offer, up to `max`, and declines the rest of each
/// offer with no filter; returns the agent id of each task.
async fn one_task_per_offer(master: String, name: &'static str, max: usize) -> Vec<String> {
    let mut fw = Framework::subscribe(
        &master,
        framework_info(name, json!({"failover_timeout": 3600.0})),
    )
    .await;
    let mut agents = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Some(offers) = fw.offers_until(deadline).await {
        for offer in offers {
            if agents.len() < max && scalar(&offer, "cpus") >= 1.0 && scalar(&offer, "mem") >= 128.0
            {
                let id = format!("{name}-{}", agents.len());
                let t = task(&id, &offer, "sleep 60", 1.0, 128.0);
                assert_eq!(fw.launch(&offer, vec![t], 0.0).await, 202);
                agents.push(
                    offer["agent_id"]["value"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                );
            } else {
                fw.decline(&offer, 0.0).await;
            }
        }
    }
    agents
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_serves_the_higher_priority_framework_first() {
    let config = r#"{"queues": {"*": {"order": "priority"}}, "framework_priority": {"high": 10}}"#;
    let mut cluster =
        Cluster::master(&["--allocator", "priority", "--allocator-config", config]).await;
    let master = cluster.master_addr.clone();
    // Both subscribe before the agent comes, so neither is first by arrival alone.
    let low = tokio::spawn(one_task_per_offer(master.clone(), "low", 8));
    let high = tokio::spawn(one_task_per_offer(master, "high", 8));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.add_agent("cpus:3;mem:4096;disk:1024", &[]).await;
    let low = low.await.expect("low framework");
    let high = high.await.expect("high framework");
    assert_eq!(
        (high.len(), low.len()),
        (3, 0),
        "the higher priority takes every cpu\n{}",
        cluster.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binpack_puts_a_trickle_of_tasks_on_one_agent() {
    let mut cluster = Cluster::master(&["--allocator", "binpack"]).await;
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    let master = cluster.master_addr.clone();
    let agents = one_task_per_offer(master, "trickle", 4).await;
    assert_eq!(agents.len(), 4, "{}", cluster.logs());
    let used: BTreeSet<_> = agents.iter().collect();
    assert_eq!(used.len(), 1, "tasks on {used:?}\n{}", cluster.logs());
}
