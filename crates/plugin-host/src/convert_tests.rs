use super::*;

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        kind: v1::ValueType::Scalar,
        scalar: Some(v1::Scalar { value }),
        ..Default::default()
    }
}

fn sample_resources() -> Vec<v1::Resource> {
    let mut reserved = scalar("mem", 512.0);
    reserved.reservations.push(v1::ReservationInfo {
        role: "web".into(),
        ..Default::default()
    });
    let mut revocable = scalar("cpus", 0.5);
    revocable.revocable = Some(v1::RevocableInfo {});
    let ports = v1::Resource {
        name: "ports".into(),
        kind: v1::ValueType::Ranges,
        ranges: Some(v1::Ranges {
            range: vec![
                v1::Range {
                    begin: 31000,
                    end: 31010,
                },
                v1::Range {
                    begin: 32000,
                    end: 32000,
                },
            ],
        }),
        ..Default::default()
    };
    let disks = v1::Resource {
        name: "disks".into(),
        kind: v1::ValueType::Set,
        set: Some(v1::Set {
            item: vec!["sda".into(), "sdb".into()],
        }),
        ..Default::default()
    };
    vec![scalar("cpus", 1.5), reserved, revocable, ports, disks]
}

#[test]
fn resources_survive_a_round_trip() {
    let original: Vec<v1::Resource> = sample_resources().into_iter().map(normalize).collect();
    let wit = resources_to_wit(&original);
    assert_eq!(wit.len(), 5);
    assert_eq!(wit[1].reservation.as_deref(), Some("web"));
    assert_eq!(wit[0].reservation, None);
    assert!(wit[2].revocable);
    assert_eq!(
        wit[3].value,
        wit::ResourceValue::Ranges(vec![
            wit::ValueRange {
                begin: 31000,
                end: 31010
            },
            wit::ValueRange {
                begin: 32000,
                end: 32000
            },
        ])
    );
    let back = resources_from_wit(&wit);
    assert_eq!(back, original);
    assert_eq!(resources_to_wit(&back), wit);
}

#[test]
fn legacy_role_field_becomes_the_reservation() {
    let mut r = scalar("cpus", 1.0);
    r.role = Some("analytics".into());
    assert_eq!(
        resources_to_wit(&[r])[0].reservation.as_deref(),
        Some("analytics")
    );
    let mut star = scalar("cpus", 1.0);
    star.role = Some("*".into());
    assert_eq!(resources_to_wit(&[star])[0].reservation, None);
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
    let t = task_to_wit(&sample_task(), "f1", "c1", "/tmp/sandbox");
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
    let t = task_to_wit(&task, "f", "c", "/s");
    let cmd = t.command.expect("command kept");
    assert!(!cmd.shell);
    assert_eq!(cmd.arguments, vec!["echo".to_string(), "a b".to_string()]);
    assert_eq!(t.kill_grace_period_ms, None);
}

#[test]
fn health_checks_get_mesos_defaults_and_their_kind() {
    let http = v1::HealthCheck {
        kind: Some("HTTP".into()),
        http: Some(v1::HttpCheckInfo {
            port: 8080,
            ..Default::default()
        }),
        interval_seconds: Some(2.0),
        ..Default::default()
    };
    let w = health_check_to_wit(&http).expect("mapped");
    assert_eq!(
        w.kind,
        wit::CheckKind::Http(wit::HttpCheck {
            port: 8080,
            path: "/".into(),
            scheme: "http".into()
        })
    );
    assert_eq!(w.interval_seconds, 2.0);
    assert_eq!(w.delay_seconds, 15.0);
    assert_eq!(w.timeout_seconds, 20.0);
    assert_eq!(w.consecutive_failures, 3);
    assert_eq!(w.grace_period_seconds, 10.0);

    let untyped_tcp = v1::HealthCheck {
        tcp: Some(v1::TcpCheckInfo { port: 22 }),
        ..Default::default()
    };
    assert_eq!(
        health_check_to_wit(&untyped_tcp).map(|h| h.kind),
        Some(wit::CheckKind::Tcp(22))
    );
    let bad_port = v1::HealthCheck {
        kind: Some("TCP".into()),
        tcp: Some(v1::TcpCheckInfo { port: 70000 }),
        ..Default::default()
    };
    assert_eq!(health_check_to_wit(&bad_port), None);
}

#[test]
fn every_task_state_round_trips() {
    use v1::TaskState as M;
    let all = [
        M::TaskStaging,
        M::TaskStarting,
        M::TaskRunning,
        M::TaskKilling,
        M::TaskFinished,
        M::TaskFailed,
        M::TaskKilled,
        M::TaskError,
        M::TaskLost,
        M::TaskDropped,
        M::TaskUnreachable,
        M::TaskGone,
        M::TaskGoneByOperator,
        M::TaskUnknown,
    ];
    for state in all {
        assert_eq!(task_state_from_wit(task_state_to_wit(state)), state);
    }
    assert_eq!(
        task_state_from_wit(wit::TaskState::Finished).as_str(),
        "TASK_FINISHED"
    );
}

#[test]
fn labels_round_trip_and_empty_is_absent() {
    let labels = v1::Labels {
        labels: vec![v1::Label {
            key: "k".into(),
            value: Some("v".into()),
        }],
    };
    assert_eq!(labels_from_wit(&labels_to_wit(Some(&labels))), Some(labels));
    assert_eq!(labels_from_wit(&[]), None);
}

#[test]
fn attributes_print_the_mesos_way() {
    let text = v1::Attribute {
        name: "rack".into(),
        kind: v1::ValueType::Text,
        text: Some(v1::Text { value: "r1".into() }),
        ..Default::default()
    };
    let ranges = v1::Attribute {
        name: "slots".into(),
        kind: v1::ValueType::Ranges,
        ranges: Some(v1::Ranges {
            range: vec![v1::Range { begin: 1, end: 4 }],
        }),
        ..Default::default()
    };
    assert_eq!(attribute_to_wit(&text).value, "r1");
    assert_eq!(attribute_to_wit(&ranges).value, "[1-4]");
}
