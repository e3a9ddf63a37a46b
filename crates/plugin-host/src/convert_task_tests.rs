use super::*;
use crate::health_check::{CheckKind, HealthCheck};

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        kind: v1::ValueType::Scalar,
        scalar: Some(v1::Scalar { value }),
        ..Default::default()
    }
}

fn sample_task() -> v1::TaskInfo {
    v1::TaskInfo {
        name: "web-1".into(),
        task_id: v1::Id::new("t1"),
        agent_id: v1::Id::new("a1"),
        resources: vec![scalar("cpus", 0.1)],
        command: Some(v1::CommandInfo {
            value: Some("echo $GREETING".into()),
            environment: Some(v1::Environment {
                variables: vec![v1::EnvironmentVariable {
                    name: "GREETING".into(),
                    value: Some("hi".into()),
                }],
            }),
            user: Some("nobody".into()),
            ..Default::default()
        }),
        kill_policy: Some(v1::KillPolicy {
            grace_period: Some(v1::DurationInfo {
                nanoseconds: 2_500_000_000,
            }),
        }),
        labels: Some(v1::Labels {
            labels: vec![v1::Label {
                key: "team".into(),
                value: Some("infra".into()),
            }],
        }),
        ..Default::default()
    }
}

#[test]
fn task_carries_command_environment_user_grace_and_labels() {
    let t = task_to_wit(&PluginTask::new(sample_task(), "f1", "c1", "/tmp/sandbox"));
    assert_eq!(t.task_id, "t1");
    assert_eq!(t.framework_id, "f1");
    assert_eq!(t.agent_id, "a1");
    assert_eq!(t.container_id, "c1");
    assert_eq!(t.sandbox, "/tmp/sandbox");
    assert_eq!(t.kill_grace_period_ms, Some(2500));
    let cmd = t.command.expect("command kept");
    assert!(cmd.shell, "shell defaults to true as in the proto");
    assert_eq!(cmd.value, "echo $GREETING");
    assert_eq!(cmd.user.as_deref(), Some("nobody"));
    assert_eq!(
        cmd.environment,
        vec![wit::EnvVar {
            name: "GREETING".into(),
            value: "hi".into()
        }]
    );
    assert_eq!(
        t.labels,
        vec![wit::Label {
            key: "team".into(),
            value: "infra".into()
        }]
    );
    assert_eq!(t.health_check, None);
}

#[test]
fn argv_commands_keep_shell_false_and_arguments() {
    let mut task = sample_task();
    task.command = Some(v1::CommandInfo {
        shell: Some(false),
        value: Some("/bin/echo".into()),
        arguments: vec!["echo".into(), "a b".into()],
        ..Default::default()
    });
    task.kill_policy = None;
    let t = task_to_wit(&PluginTask::new(task, "f", "c", "/s"));
    let cmd = t.command.expect("command kept");
    assert!(!cmd.shell);
    assert_eq!(cmd.arguments, vec!["echo".to_string(), "a b".to_string()]);
    assert_eq!(t.kill_grace_period_ms, None);
}

#[test]
fn a_health_check_reaches_the_plugin_with_its_defaults_and_comes_back_the_same() {
    let mut task = sample_task();
    task.health_check = Some(v1::HealthCheck {
        command: Some(v1::CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        timeout_seconds: Some(2.5),
        ..Default::default()
    });
    let t = task_to_wit(&PluginTask::new(task, "f", "c", "/s"));
    let wit_check = t.health_check.expect("a health check");
    assert_eq!(wit_check.timeout_seconds, 2.5);
    assert_eq!(wit_check.delay_seconds, 15.0);
    let wit::CheckKind::Command(command) = &wit_check.kind else {
        panic!("a command check: {wit_check:?}");
    };
    assert!(command.shell);
    assert_eq!(command.value, "true");
    let back = health_check_from_wit(wit_check.clone());
    assert_eq!(health_check_to_wit(&back), wit_check);
    assert!(matches!(back.kind, CheckKind::Command(_)));
    assert_eq!(back.consecutive_failures, 3);
    let tcp = HealthCheck {
        kind: CheckKind::Tcp(80),
        ..back
    };
    assert_eq!(health_check_to_wit(&tcp).kind, wit::CheckKind::Tcp(80));
}

#[test]
fn a_command_from_a_plugin_is_a_mesos_command_that_converts_back_the_same() {
    let wit_command = wit::CommandInfo {
        shell: false,
        value: "/bin/echo".into(),
        arguments: vec!["echo".into(), "hi".into()],
        environment: vec![wit::EnvVar {
            name: "A".into(),
            value: "1".into(),
        }],
        user: Some("nobody".into()),
    };
    let command = command_from_wit(wit_command.clone());
    assert!(!command.is_shell());
    assert_eq!(command.value.as_deref(), Some("/bin/echo"));
    let env = command.environment.as_ref().expect("an environment");
    assert_eq!(env.variables[0].value.as_deref(), Some("1"));
    assert_eq!(command_to_wit(&command), wit_command);
    let bare = command_from_wit(wit::CommandInfo {
        environment: vec![],
        ..wit_command
    });
    assert_eq!(bare.environment, None, "no variables, no environment");
}

#[test]
fn a_status_reaches_a_hook_with_its_state_and_labels() {
    let status = v1::TaskStatus {
        task_id: v1::Id::new("t1"),
        state: v1::TaskState::TaskRunning,
        healthy: Some(true),
        labels: Some(v1::Labels {
            labels: vec![v1::Label {
                key: "k".into(),
                value: None,
            }],
        }),
        ..Default::default()
    };
    let w = status_to_wit(&status);
    assert_eq!(w.task_id, "t1");
    assert_eq!(w.state, wit::TaskState::Running);
    assert_eq!(w.healthy, Some(true));
    assert_eq!(
        w.labels,
        vec![wit::Label {
            key: "k".into(),
            value: String::new()
        }]
    );
}
