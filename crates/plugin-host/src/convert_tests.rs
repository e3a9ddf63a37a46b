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
