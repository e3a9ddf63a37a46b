//! The built-in `priority` and `binpack` allocators, chosen with `--allocator` (and
//! configured with `--allocator-config`), on a real master and agents.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_e2e::{Cluster, Framework, scalar, task};

/// Launches one task of 1 cpu + 128 MB per offer, up to `max`, and declines the rest of each
/// offer with no filter, for 10 s; returns the agent id of each task.
async fn one_task_per_offer(mut fw: Framework, name: &'static str, max: usize) -> Vec<String> {
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
    // Both subscribe before the agent comes, so neither is first by arrival alone.
    let low = Framework::subscribe_lasting(&cluster.master_addr, "low").await;
    let high = Framework::subscribe_lasting(&cluster.master_addr, "high").await;
    cluster.add_agent("cpus:3;mem:4096;disk:1024", &[]).await;
    let low = tokio::spawn(one_task_per_offer(low, "low", 8));
    let high = tokio::spawn(one_task_per_offer(high, "high", 8));
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
    // Cycles only after the framework's calls (and every 30 s): a timed cycle while the
    // first agent's offer is out would offer the second agent, which binpack rightly does
    // when the first has nothing left to give.
    let mut cluster =
        Cluster::master(&["--allocator", "binpack", "--allocation-interval", "30secs"]).await;
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    let fw = Framework::subscribe_lasting(&cluster.master_addr, "trickle").await;
    let agents = one_task_per_offer(fw, "trickle", 4).await;
    assert_eq!(agents.len(), 4, "{}", cluster.logs());
    let used: BTreeSet<_> = agents.iter().collect();
    assert_eq!(used.len(), 1, "tasks on {used:?}\n{}", cluster.logs());
}
