//! The priority policy driven natively through the same calls the host makes.

use corral_sdk::allocator::{Allocator, Grant, Quota};
use corral_sdk::resources::Resources;
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

use crate::Priority;

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

fn framework(id: &str, name: &str, role: &str) -> FrameworkInfo {
    FrameworkInfo {
        id: id.into(),
        name: name.into(),
        roles: vec![role.into()],
        capabilities: vec![],
        principal: None,
    }
}

fn policy(config: &str, agents: usize) -> Priority {
    let mut p = Priority::default();
    p.init(config.into()).expect("valid configuration");
    for i in 1..=agents {
        p.add_agent(agent(&format!("a{i:02}")), vec![]);
    }
    p
}

fn cpus(grants: &[Grant], fw: &str) -> f64 {
    grants
        .iter()
        .filter(|g| g.framework_id == fw)
        .map(|g| Resources::from_list(&g.resources).scalar("cpus"))
        .sum()
}

#[test]
fn fifo_inside_a_queue_serves_the_first_framework_first() {
    let mut p = policy("", 3);
    p.add_framework(framework("f2", "second", "batch"), true);
    p.add_framework(framework("f1", "first", "batch"), true);
    let grants = p.allocate(NOW);
    assert_eq!(
        cpus(&grants, "f2"),
        12.0,
        "f2 subscribed first and takes every agent"
    );
    assert_eq!(cpus(&grants, "f1"), 0.0);
}

#[test]
fn higher_priority_goes_first_in_a_priority_queue() {
    let config = r#"{"queues": {"prod": {"order": "priority"}},
                     "framework_priority": {"checkout": 10, "f-low": 1}}"#;
    let mut p = policy(config, 2);
    p.add_framework(framework("f-low", "reports", "prod"), true);
    p.add_framework(framework("f-high", "checkout", "prod"), true);
    let grants = p.allocate(NOW);
    assert_eq!(
        cpus(&grants, "f-high"),
        8.0,
        "priority 10 by name beats 1 by id"
    );
    // When the high one declines an agent, the next in line gets it.
    let g = grants
        .iter()
        .find(|g| g.agent_id == "a01")
        .expect("a01 granted");
    p.recover(
        "a01".into(),
        "f-high".into(),
        g.resources.clone(),
        Some(NOW + 10_000),
    );
    let again = p.allocate(NOW + 1);
    assert_eq!(cpus(&again, "f-low"), 4.0);
}

#[test]
fn a_queue_below_its_guarantee_is_served_first_and_caps_hold() {
    // 10 agents of 4 cpus. prod: guarantee 0.6, cap 0.8. batch first by name would win a tie.
    let config = r#"{"queues": {"prod": {"guarantee": 0.6, "cap": 0.8},
                                "batch": {"cap": 0.3}}}"#;
    let mut p = policy(config, 10);
    p.add_framework(framework("b", "batch-fw", "batch"), true);
    p.add_framework(framework("p", "prod-fw", "prod"), true);
    let grants = p.allocate(NOW);
    // prod: its guarantee (24) first, then, at ratio 1 against batch's none, up to its cap.
    assert_eq!(cpus(&grants, "p"), 32.0, "{grants:?}");
    assert_eq!(cpus(&grants, "b"), 8.0);
    // prod leaves: batch may grow only to its cap of 30% = 12 cpus, with 32 free.
    p.remove_framework("p".into());
    assert_eq!(cpus(&p.allocate(NOW + 1), "b"), 4.0);
    assert!(p.allocate(NOW + 2).is_empty(), "batch is at its cap");
}

#[test]
fn set_quota_limits_apply_too() {
    let mut p = policy("", 4);
    p.add_framework(framework("b", "batch-fw", "batch"), true);
    p.set_quota(Quota {
        role: "batch".into(),
        guarantees: vec![],
        limits: vec![Resource::scalar("cpus", 6.0)],
    });
    let grants = p.allocate(NOW);
    assert_eq!(cpus(&grants, "b"), 6.0);
}

#[test]
fn bad_queue_settings_are_refused() {
    let mut p = Priority::default();
    let e = p
        .init(r#"{"queues": {"q": {"guarantee": 0.9, "cap": 0.5}}}"#.into())
        .expect_err("guarantee above cap");
    assert!(e.contains("above its cap"), "{e}");
    let e = p
        .init(r#"{"queues": {"q": {"cap": 1.5}}}"#.into())
        .expect_err("cap above 1");
    assert!(e.contains("share"), "{e}");
    let e = p
        .init(r#"{"queues": {"q": {"order": "random"}}}"#.into())
        .expect_err("unknown order");
    assert!(e.contains("bad configuration"), "{e}");
}

#[test]
fn inspect_lists_queues_in_order() {
    let mut p = policy(r#"{"queues": {"prod": {"guarantee": 0.5}}}"#, 2);
    p.add_framework(framework("p", "prod-fw", "prod"), true);
    p.add_framework(framework("b", "batch-fw", "batch"), true);
    let view: serde_json::Value = serde_json::from_str(&p.inspect()).expect("JSON");
    assert_eq!(view["policy"], "priority");
    assert_eq!(view["queues"][0]["role"], "prod");
    assert_eq!(view["queues"][0]["guarantee"], 0.5);
    assert_eq!(view["queues"][1]["frameworks"][0], "b");
}
