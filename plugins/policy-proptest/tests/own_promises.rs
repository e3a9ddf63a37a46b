//! Each policy's own promise, on random shapes: DRF shares converge by weight and guarantees
//! are met first; priority serves the highest priority first and respects caps; binpack
//! touches fewer agents than drf for the same workload.

use std::collections::BTreeSet;

use corral_sdk::allocator::Allocator;
use corral_sdk::resources::Resources;
use corral_sdk::types::Resource;
use policy_proptest::{Host, agent, framework, policy};
use proptest::prelude::*;

fn uniform_agent(i: usize) -> corral_sdk::types::AgentInfo {
    agent(
        &format!("a{i:03}"),
        vec![
            Resource::scalar("cpus", 8.0),
            Resource::scalar("mem", 8192.0),
        ],
    )
}

fn cpus_of(host: &Host, role: &str) -> f64 {
    host.subtree_cpus(role)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Two roles with weights wa:wb share identical agents wa:wb, to within one agent.
    #[test]
    fn drf_shares_follow_weights(agents in 8usize..80, wa in 1u32..5, wb in 1u32..5) {
        let mut host = Host::new(policy("drf"));
        for i in 0..agents {
            host.add_agent(uniform_agent(i));
        }
        host.add_framework(framework("fa", &["ra"], false));
        host.add_framework(framework("fb", &["rb"], false));
        host.policy.set_weight("ra".into(), f64::from(wa));
        host.policy.set_weight("rb".into(), f64::from(wb));
        host.allocate().map_err(TestCaseError::fail)?;
        let a = host.held.iter().filter(|g| g.role == "ra").count() as f64;
        let b = host.held.iter().filter(|g| g.role == "rb").count() as f64;
        prop_assert_eq!(a + b, agents as f64);
        let gap = (a * f64::from(wb) - b * f64::from(wa)).abs();
        prop_assert!(gap <= f64::from(wa.max(wb)), "{a}:{b} for weights {wa}:{wb}");
    }

    /// A role's guarantee is met in the first cycle when the cluster can meet it, whatever
    /// other roles ask and weigh.
    #[test]
    fn drf_meets_guarantees_first(
        agents in 4usize..30,
        others in 1usize..6,
        guarantee_agents in 1usize..4,
        other_weight in 1u32..10,
    ) {
        let guarantee = (guarantee_agents.min(agents / 2) * 8) as f64;
        let mut host = Host::new(policy("drf"));
        for i in 0..agents {
            host.add_agent(uniform_agent(i));
        }
        for i in 0..others {
            host.add_framework(framework(&format!("other{i}"), &["batch"], false));
        }
        host.policy.set_weight("batch".into(), f64::from(other_weight));
        host.add_framework(framework("p", &["prod"], false));
        host.policy.set_quota(corral_sdk::allocator::Quota {
            role: "prod".into(),
            guarantees: vec![Resource::scalar("cpus", guarantee)],
            limits: vec![],
        });
        host.allocate().map_err(TestCaseError::fail)?;
        prop_assert!(cpus_of(&host, "prod") >= guarantee, "prod has {} of {guarantee}", cpus_of(&host, "prod"));
    }

    /// In a priority queue the highest priority framework gets every agent it takes; with a
    /// cap, the queue never holds more than its share.
    #[test]
    fn priority_serves_the_highest_first_and_caps_hold(
        agents in 2usize..30,
        priorities in proptest::collection::vec(-5i64..5, 1..5),
        cap_tenths in 1u32..10,
    ) {
        let cap = f64::from(cap_tenths) / 10.0;
        let listed: Vec<String> = priorities
            .iter()
            .enumerate()
            .map(|(i, p)| format!("\"q{i}\": {p}"))
            .collect();
        let config = format!(
            r#"{{"queues": {{"prod": {{"order": "priority", "cap": {cap}}}}},
                "framework_priority": {{{}}}}}"#,
            listed.join(", ")
        );
        let mut p = priority_core::Priority::default();
        p.init(config).map_err(TestCaseError::fail)?;
        let mut host = Host::new(Box::new(p));
        for i in 0..agents {
            host.add_agent(uniform_agent(i));
        }
        for i in 0..priorities.len() {
            host.add_framework(framework(&format!("q{i}"), &["prod"], false));
        }
        let top = priorities.iter().max().copied().unwrap_or(0);
        let first_top = priorities.iter().position(|p| *p == top).unwrap_or(0);
        for _ in 0..3 {
            let grants = host.allocate().map_err(TestCaseError::fail)?;
            for g in &grants {
                prop_assert_eq!(&g.framework_id, &format!("q{first_top}"));
            }
            host.now += 1000;
        }
        let total = (agents * 8) as f64;
        prop_assert!(cpus_of(&host, "prod") <= cap * total + 1e-6);
        prop_assert!(!host.held.is_empty() || cap * total < 0.01);
    }

    /// Frameworks whose work trickles in (one task per offer per cycle) and that give the rest
    /// back: binpack places the same tasks on no more agents than drf, and on fewer when drf
    /// spreads them.
    #[test]
    fn binpack_touches_no_more_agents_than_drf(
        agents in 4usize..24,
        frameworks in 1usize..4,
        tasks in 2usize..16,
    ) {
        // Room for every task (1 cpu each) with half the cluster to spare.
        prop_assume!(frameworks * tasks <= agents * 4);
        let touched = |name: &str| -> Result<usize, String> {
            let mut host = Host::new(policy(name));
            for i in 0..agents {
                host.add_agent(uniform_agent(i));
            }
            for f in 0..frameworks {
                host.add_framework(framework(&format!("f{f}"), &["*"], false));
            }
            let mut left = vec![tasks; frameworks];
            let mut used = BTreeSet::new();
            let task = vec![Resource::scalar("cpus", 1.0), Resource::scalar("mem", 128.0)];
            for _ in 0..200 {
                if left.iter().all(|l| *l == 0) {
                    break;
                }
                let grants = host.allocate()?;
                for g in grants {
                    let f: usize = g.framework_id[1..].parse().map_err(|e| format!("{e}"))?;
                    let mut rest = Resources::from_list(&g.resources);
                    if left[f] > 0 && rest.contains(&task) {
                        left[f] -= 1;
                        used.insert(g.agent_id.clone());
                        rest.subtract_all(&task);
                    }
                    // The task keeps its part; the rest comes back unfiltered.
                    host.held.retain(|h| !(h.agent_id == g.agent_id && h.framework_id == g.framework_id && h.resources == g.resources));
                    let mut kept = Resources::from_list(&g.resources);
                    kept.subtract_all(rest.as_slice());
                    if !kept.is_empty() {
                        host.held.push(corral_sdk::allocator::Grant { resources: kept.to_vec(), ..g.clone() });
                    }
                    // An offer it could not use at all is declined for 5 s (Mesos' default
                    // refuse_seconds); from one it used, it wants more, so no filter.
                    let refuse = (kept.is_empty()).then_some(host.now + 5000);
                    host.policy.recover(g.agent_id, g.framework_id, rest.to_vec(), refuse);
                }
                host.now += 1000;
            }
            if left.iter().any(|l| *l > 0) {
                return Err(format!("{name}: tasks left unplaced: {left:?}"));
            }
            Ok(used.len())
        };
        let drf = touched("drf").map_err(TestCaseError::fail)?;
        let binpack = touched("binpack").map_err(TestCaseError::fail)?;
        prop_assert!(binpack <= drf, "binpack {binpack} agents, drf {drf}");
        if frameworks * tasks > 8 * frameworks && agents > frameworks * 2 {
            prop_assert!(binpack < drf, "binpack {binpack} agents, drf {drf}");
        }
    }
}
