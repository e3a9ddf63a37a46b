//! The binpack policy driven natively through the same calls the host makes.

use corral_sdk::allocator::{Allocation, Allocator};
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

use crate::Binpack;

const NOW: u64 = 1_700_000_000_000;

fn agent(id: &str) -> AgentInfo {
    AgentInfo {
        id: id.into(),
        hostname: format!("{id}.example"),
        resources: vec![
            Resource::scalar("cpus", 4.0),
            Resource::scalar("mem", 4096.0),
        ],
        attributes: vec![],
    }
}

fn framework(id: &str) -> FrameworkInfo {
    FrameworkInfo {
        id: id.into(),
        name: id.into(),
        roles: vec!["*".into()],
        capabilities: vec![],
        principal: None,
    }
}

fn held(fw: &str, cpus: f64) -> Vec<Allocation> {
    vec![Allocation {
        framework_id: fw.into(),
        role: "*".into(),
        resources: vec![
            Resource::scalar("cpus", cpus),
            Resource::scalar("mem", 512.0),
        ],
    }]
}

#[test]
fn the_fullest_agent_is_offered_first_one_per_framework() {
    let mut b = Binpack::default();
    b.init(String::new()).expect("defaults");
    b.add_framework(framework("f1"), true);
    b.add_agent(agent("a1"), vec![]);
    b.add_agent(agent("a2"), held("f1", 3.0));
    b.add_agent(agent("a3"), held("f1", 1.0));
    let grants = b.allocate(NOW);
    assert_eq!(grants.len(), 1, "one agent per framework per cycle");
    assert_eq!(grants[0].agent_id, "a2", "the fullest agent");
    let grants = b.allocate(NOW + 1);
    assert_eq!(grants[0].agent_id, "a3", "then the next fullest");
}

#[test]
fn inspect_reports_fragmentation() {
    let mut b = Binpack::default();
    b.init(r#"{"agents_per_framework": 2}"#.into())
        .expect("valid");
    b.add_agent(agent("a1"), held("f1", 3.0));
    b.add_agent(agent("a2"), vec![]);
    let view: serde_json::Value = serde_json::from_str(&b.inspect()).expect("JSON");
    assert_eq!(view["policy"], "binpack");
    let cpus = &view["fragmentation"]["cpus"];
    assert_eq!(cpus["free"], 5.0);
    assert_eq!(cpus["largest_free_block"], 4.0);
    assert_eq!(cpus["fragmentation"], 0.2);
    assert_eq!(view["fragmentation"]["agents_used"], 1);
    assert!(
        Binpack::default()
            .init(r#"{"agents_per_framework": 0}"#.into())
            .is_err()
    );
}
