use corral_sdk::types::Resource;

use super::*;

fn task() -> TaskInfo {
    TaskInfo {
        task_id: "t1".into(),
        name: "t1".into(),
        framework_id: "f".into(),
        agent_id: "a".into(),
        container_id: String::new(),
        resources: vec![Resource::scalar("cpus", 1.0)],
        command: None,
        labels: vec![],
        kill_grace_period_ms: None,
        health_check: None,
        sandbox: String::new(),
    }
}

fn framework(role: &str) -> FrameworkInfo {
    FrameworkInfo {
        id: "f".into(),
        name: "fw".into(),
        roles: vec![role.into()],
        capabilities: vec![],
        principal: None,
    }
}

fn hook(config: &str) -> Labels {
    let mut h = Labels::default();
    h.init(config.to_string()).expect("valid config");
    h
}

#[test]
fn role_entries_override_global_ones() {
    let mut h = hook(
        r#"{"labels": {"team": "infra", "tier": "prod"}, "environment": {"A": "1"},
            "roles": {"dev": {"labels": {"tier": "dev"}}}}"#,
    );
    let LaunchDecision::Allow(d) = h.on_launch(task(), framework("dev")).expect("ok") else {
        panic!("labels never denies");
    };
    let pairs: Vec<_> = d
        .labels
        .iter()
        .map(|l| (l.key.as_str(), l.value.as_str()))
        .collect();
    assert_eq!(pairs, [("team", "infra"), ("tier", "dev")]);
    assert_eq!(d.environment[0].name, "A");
    let LaunchDecision::Allow(d) = h.on_launch(task(), framework("prod")).expect("ok") else {
        panic!("labels never denies");
    };
    assert!(
        d.labels
            .iter()
            .any(|l| l.key == "tier" && l.value == "prod")
    );
}

#[test]
fn agent_side_points_and_registration_use_their_own_entries() {
    let mut h = hook(
        r#"{"run_environment": {"X": "y"}, "status_labels": {"via": "hook"},
            "agent_attributes": {"zone": "z1"}}"#,
    );
    assert_eq!(h.on_run(task()).expect("ok")[0].value, "y");
    let agent = AgentInfo {
        id: "a".into(),
        hostname: "h".into(),
        resources: vec![],
        attributes: vec![],
    };
    assert_eq!(
        h.on_agent_register(agent).expect("ok").attributes[0].name,
        "zone"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let err = Labels::default()
        .init(r#"{"label": {}}"#.into())
        .unwrap_err();
    assert!(err.contains("bad config"), "{err}");
}
