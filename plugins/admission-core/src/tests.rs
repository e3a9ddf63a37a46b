use corral_sdk::types::{CommandInfo, Label, Resource};

use super::*;

fn task(cpus: f64, mem: f64, labels: &[(&str, &str)], user: Option<&str>) -> TaskInfo {
    TaskInfo {
        task_id: "t1".into(),
        name: "t1".into(),
        framework_id: "f".into(),
        agent_id: "a".into(),
        container_id: String::new(),
        resources: vec![Resource::scalar("cpus", cpus), Resource::scalar("mem", mem)],
        command: Some(CommandInfo {
            shell: true,
            value: "true".into(),
            arguments: vec![],
            environment: vec![],
            user: user.map(str::to_string),
        }),
        labels: labels
            .iter()
            .map(|(k, v)| Label {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
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

fn admission(config: &str) -> Admission {
    let mut a = Admission::default();
    a.init(config.to_string()).expect("valid config");
    a
}

fn decide(a: &mut Admission, t: TaskInfo, role: &str) -> Option<String> {
    match a.on_launch(t, framework(role)).expect("answers") {
        LaunchDecision::Allow(_) => None,
        LaunchDecision::Deny(reason) => Some(reason),
    }
}

#[test]
fn a_task_over_its_roles_cpu_limit_is_denied_naming_the_rule() {
    let mut a = admission(r#"{"roles": {"dev": {"max_cpus": 1}}, "default": {"max_mem": 100}}"#);
    let reason = decide(&mut a, task(2.0, 10.0, &[], None), "dev").expect("denied");
    assert!(reason.contains("roles.dev.max_cpus"), "{reason}");
    assert!(reason.contains("2 cpus"), "{reason}");
    assert_eq!(decide(&mut a, task(1.0, 500.0, &[], None), "dev"), None);
    let reason = decide(&mut a, task(1.0, 500.0, &[], None), "prod").expect("denied");
    assert!(reason.contains("default.max_mem"), "{reason}");
}

#[test]
fn required_labels_and_allowed_users_are_checked() {
    let mut a = admission(r#"{"required_labels": ["team"], "allowed_users": ["www"]}"#);
    let reason = decide(&mut a, task(1.0, 1.0, &[], None), "*").expect("denied");
    assert!(reason.contains("required_labels"), "{reason}");
    let labelled = &[("team", "x")];
    assert_eq!(
        decide(&mut a, task(1.0, 1.0, labelled, Some("www")), "*"),
        None
    );
    assert_eq!(decide(&mut a, task(1.0, 1.0, labelled, None), "*"), None);
    let reason = decide(&mut a, task(1.0, 1.0, labelled, Some("root")), "*").expect("denied");
    assert!(
        reason.contains("allowed_users") && reason.contains("root"),
        "{reason}"
    );
}

#[test]
fn a_bad_config_is_refused_and_an_empty_one_allows_everything() {
    let mut a = Admission::default();
    let err = a.init(r#"{"max_cpus": 1}"#.into()).unwrap_err();
    assert!(err.contains("bad config"), "{err}");
    let mut a = admission("");
    assert_eq!(
        decide(&mut a, task(64.0, 1e6, &[], Some("root")), "*"),
        None
    );
}
