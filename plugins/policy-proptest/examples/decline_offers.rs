//! The policies alone (no host, no sandbox) on Mesos' DeclineOffers shape, for a quick look
//! at their own cost: `cargo run --release --example decline_offers -- AGENTS FRAMEWORKS`.
//! `corral bench allocator` is the benchmark of record (WASM vs native through the host).

use std::time::Instant;

use corral_sdk::types::Resource;
use policy_proptest::{POLICIES, agent, framework, policy};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let agents = args.first().copied().unwrap_or(10_000);
    let frameworks = args.get(1).copied().unwrap_or(1_000);
    for name in POLICIES {
        let mut p = policy(name);
        for i in 0..agents {
            p.add_agent(
                agent(
                    &format!("agent-{i:06}"),
                    vec![
                        Resource::scalar("cpus", 24.0),
                        Resource::scalar("mem", 4096.0),
                        Resource::scalar("disk", 4096.0),
                        Resource::ranges("ports", &[(31000, 32000)]),
                    ],
                ),
                vec![],
            );
        }
        for i in 0..frameworks {
            p.add_framework(framework(&format!("framework-{i:04}"), &["*"], false), true);
        }
        let mut now = 1_700_000_000_000u64;
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let grants = p.allocate(now);
            times.push((started.elapsed().as_secs_f64() * 1000.0, grants.len()));
            for g in grants {
                p.recover(
                    g.agent_id,
                    g.framework_id,
                    g.resources,
                    Some(now + 86_400_000),
                );
            }
            now += 1000;
        }
        println!("{name}: {agents} x {frameworks}: cycles (ms, grants) {times:.1?}");
    }
}
