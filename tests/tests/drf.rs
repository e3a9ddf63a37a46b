//! The `drf` allocator shares an agent between two frameworks by dominant share.
//!
//! Agent: 4 cpus, 4096 MB. Framework "cpu" runs tasks of 1 cpu + 256 MB (dominant: cpus, 1/4
//! per task); framework "mem" runs tasks of 0.25 cpu + 1024 MB (dominant: mem, 1/4 per task).
//! Each launches one task per offer and declines the rest with no filter, so every cycle the
//! allocator chooses again. DRF alternates and ends at 3 tasks each (dominant shares 0.75 and
//! 0.75; a fourth fits neither). A policy that ignores shares gives "cpu" 4 and "mem" 0 (or
//! the reverse).

use corral_e2e::{Cluster, Framework, scalar, task};

async fn run_framework(mut fw: Framework, name: &'static str, cpus: f64, mem: f64) -> usize {
    let mut launched = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(12);
    while let Some(offers) = fw.offers_until(deadline).await {
        for offer in offers {
            if scalar(&offer, "cpus") >= cpus && scalar(&offer, "mem") >= mem {
                launched += 1;
                let id = format!("{name}-{launched}");
                let t = task(&id, &offer, "sleep 60", cpus, mem);
                assert_eq!(fw.launch(&offer, vec![t], 0.0).await, 202);
            } else {
                fw.decline(&offer, 0.0).await;
            }
        }
    }
    launched
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drf_splits_an_agent_by_dominant_share() {
    let mut cluster = Cluster::master(&["--allocator", "drf"]).await;
    // Both subscribe before the agent exists, so neither is offered the agent alone first.
    let cpu = Framework::subscribe_lasting(&cluster.master_addr, "cpu").await;
    let mem = Framework::subscribe_lasting(&cluster.master_addr, "mem").await;
    cluster.add_agent("cpus:4;mem:4096;disk:1024", &[]).await;
    let cpu = tokio::spawn(run_framework(cpu, "cpu", 1.0, 256.0));
    let mem = tokio::spawn(run_framework(mem, "mem", 0.25, 1024.0));
    let cpu = cpu.await.expect("cpu framework");
    let mem = mem.await.expect("mem framework");
    assert_eq!(
        (cpu, mem),
        (3, 3),
        "DRF gives each framework 3 tasks\n{}",
        cluster.logs()
    );
}
