use corral_api::agent_protocol::{AgentCommand, StatusUpdateMessage};
use corral_api::scheduler::{Acknowledge, Call, CallType, Kill, Reconcile, ReconcileTask};
use corral_api::v1::{
    AgentId, Capability, DurationInfo, FrameworkId, FrameworkInfo, Id, KillPolicy, TaskState,
    TaskStatus, reason,
};
use corral_http::error::ApiError;

use super::harness::{Harness, base64_uuid, task};

/// A framework with task "t1" (cpus:1) launched on a `cpus:2;mem:1024` agent.
struct Launched {
    h: Harness,
    fw: FrameworkId,
    stream: uuid::Uuid,
    agent: AgentId,
    agent_stream: uuid::Uuid,
}

fn launched(info: Option<FrameworkInfo>) -> Launched {
    let mut h = Harness::new();
    let (fw, stream) = match info {
        Some(info) => h.subscribe_info(info),
        None => h.subscribe("f1"),
    };
    let (agent, agent_stream) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![task("t1", &agent, "cpus:1;mem:128")],
        Some(0.0),
    );
    h.commands(agent_stream);
    h.events(stream);
    Launched {
        h,
        fw,
        stream,
        agent,
        agent_stream,
    }
}

fn ack(fw: &FrameworkId, agent: &AgentId, task: &str, uuid: &str) -> Call {
    let mut call = Call::new(CallType::Acknowledge, Some(fw.clone()));
    call.acknowledge = Some(Acknowledge {
        agent_id: agent.clone(),
        task_id: Id::new(task),
        uuid: uuid.into(),
    });
    call
}

#[test]
fn updates_are_forwarded_and_acknowledgements_relayed_to_the_agent() {
    let Launched {
        mut h,
        fw,
        stream,
        agent,
        agent_stream,
    } = launched(None);
    let uuid = h.agent_update(&agent, &fw, "t1", TaskState::TaskRunning);
    let status = h.updates(stream).remove(0);
    assert_eq!(status.state, TaskState::TaskRunning);
    assert_eq!(
        status.uuid.as_deref(),
        Some(uuid.as_str()),
        "the agent's uuid is kept"
    );
    assert_eq!(status.agent_id.as_ref(), Some(&agent));
    h.call(stream, ack(&fw, &agent, "t1", &uuid))
        .expect("ACKNOWLEDGE accepted");
    let commands = h.commands(agent_stream);
    assert!(
        matches!(&commands[..], [AgentCommand::Acknowledge { uuid: u, task_id, .. }]
            if *u == uuid && task_id.value == "t1"),
        "{commands:?}"
    );
    let finished = h.agent_update(&agent, &fw, "t1", TaskState::TaskFinished);
    assert_eq!(h.updates(stream)[0].state, TaskState::TaskFinished);
    assert!(
        h.core
            .framework(&fw)
            .expect("known")
            .tasks
            .contains_key(&Id::new("t1")),
        "a terminal task stays active until acknowledged"
    );
    // A resend of the same update changes nothing and recovers nothing twice.
    h.core
        .status_update(StatusUpdateMessage {
            agent_id: agent.clone(),
            framework_id: fw.clone(),
            status: TaskStatus {
                task_id: Id::new("t1"),
                state: TaskState::TaskFinished,
                uuid: Some(finished.clone()),
                ..Default::default()
            },
        })
        .expect("resend accepted");
    h.collect();
    assert_eq!(h.updates(stream).len(), 1, "a resend is forwarded again");
    h.allocate();
    let recovers = h
        .knobs
        .lock()
        .expect("knobs")
        .calls
        .iter()
        .filter(|c| c.starts_with("recover") && c.contains("cpus:1; mem:128"))
        .count();
    assert_eq!(recovers, 1, "a terminal task's resources return once");
    h.call(stream, ack(&fw, &agent, "t1", &finished))
        .expect("ACKNOWLEDGE accepted");
    assert_eq!(h.commands(agent_stream).len(), 1);
    assert!(h.core.framework(&fw).expect("known").tasks.is_empty());
    let completed = h.core.get_tasks().completed_tasks;
    assert_eq!(completed[0].state, TaskState::TaskFinished);
}

#[test]
fn an_acknowledgement_whose_uuid_is_not_base64_is_a_400() {
    let Launched {
        mut h,
        fw,
        stream,
        agent,
        ..
    } = launched(None);
    let error = h
        .call(stream, ack(&fw, &agent, "t1", "not base64!"))
        .expect_err("refused");
    assert_eq!(error.status.as_u16(), 400);
    assert!(
        error.message.contains("acknowledge.uuid"),
        "{}",
        error.message
    );
    let error = h
        .call(stream, ack(&fw, &agent, "t1", "AAAA"))
        .expect_err("refused");
    assert!(error.message.contains("16 bytes"), "{}", error.message);
}

#[test]
fn an_acknowledgement_for_an_older_update_is_not_relayed() {
    let Launched {
        mut h,
        fw,
        stream,
        agent,
        agent_stream,
    } = launched(None);
    h.agent_update(&agent, &fw, "t1", TaskState::TaskRunning);
    h.call(stream, ack(&fw, &agent, "t1", &base64_uuid()))
        .expect("accepted");
    assert!(h.commands(agent_stream).is_empty());
}

#[test]
fn kill_reaches_the_agent_with_the_calls_policy() {
    let Launched {
        mut h,
        fw,
        stream,
        agent_stream,
        ..
    } = launched(None);
    let mut call = Call::new(CallType::Kill, Some(fw.clone()));
    let policy = KillPolicy {
        grace_period: Some(DurationInfo {
            nanoseconds: 1_000_000_000,
        }),
    };
    call.kill = Some(Kill {
        task_id: Id::new("t1"),
        agent_id: None,
        kill_policy: Some(policy.clone()),
    });
    h.call(stream, call).expect("KILL accepted");
    let commands = h.commands(agent_stream);
    assert!(
        matches!(&commands[..], [AgentCommand::KillTask { task_id, kill_policy: Some(p), .. }]
            if task_id.value == "t1" && *p == policy),
        "{commands:?}"
    );
}

#[test]
fn killing_an_unknown_task_answers_lost_or_unknown() {
    for (capabilities, expected) in [
        (vec![], TaskState::TaskLost),
        (
            vec![Capability {
                kind: "PARTITION_AWARE".into(),
            }],
            TaskState::TaskUnknown,
        ),
    ] {
        let info = FrameworkInfo {
            name: "f".into(),
            capabilities,
            ..Default::default()
        };
        let Launched {
            mut h,
            fw,
            stream,
            agent_stream,
            ..
        } = launched(Some(info));
        let mut call = Call::new(CallType::Kill, Some(fw.clone()));
        call.kill = Some(Kill {
            task_id: Id::new("ghost"),
            ..Default::default()
        });
        h.call(stream, call).expect("KILL accepted");
        let status = h.updates(stream).remove(0);
        assert_eq!(status.state, expected);
        assert_eq!(status.reason.as_deref(), Some(reason::RECONCILIATION));
        assert!(h.commands(agent_stream).is_empty());
    }
}

#[test]
fn explicit_and_implicit_reconciliation() {
    let Launched {
        mut h,
        fw,
        stream,
        agent,
        ..
    } = launched(None);
    h.agent_update(&agent, &fw, "t1", TaskState::TaskRunning);
    h.events(stream);
    let mut call = Call::new(CallType::Reconcile, Some(fw.clone()));
    call.reconcile = Some(Reconcile {
        tasks: vec![
            ReconcileTask {
                task_id: Id::new("t1"),
                agent_id: None,
            },
            ReconcileTask {
                task_id: Id::new("ghost"),
                agent_id: Some(agent.clone()),
            },
        ],
    });
    h.call(stream, call).expect("RECONCILE accepted");
    let updates = h.updates(stream);
    assert_eq!(updates.len(), 2);
    assert_eq!(
        (updates[0].task_id.value.as_str(), updates[0].state),
        ("t1", TaskState::TaskRunning)
    );
    assert_eq!(
        (updates[1].task_id.value.as_str(), updates[1].state),
        ("ghost", TaskState::TaskLost)
    );
    for status in &updates {
        assert_eq!(status.reason.as_deref(), Some(reason::RECONCILIATION));
        assert!(
            status.uuid.is_none(),
            "reconciliation updates are not acknowledged"
        );
    }
    let mut implicit = Call::new(CallType::Reconcile, Some(fw.clone()));
    implicit.reconcile = Some(Reconcile::default());
    h.call(stream, implicit).expect("RECONCILE accepted");
    let updates = h.updates(stream);
    assert_eq!(updates.len(), 1, "every active task of the framework");
    assert_eq!(updates[0].state, TaskState::TaskRunning);
}

#[test]
fn an_update_for_a_removed_framework_is_acknowledged_at_once() {
    let Launched {
        mut h,
        fw,
        stream,
        agent,
        agent_stream,
    } = launched(None);
    h.call(stream, Call::new(CallType::Teardown, Some(fw.clone())))
        .expect("TEARDOWN accepted");
    h.commands(agent_stream);
    let uuid = h.agent_update(&agent, &fw, "t1", TaskState::TaskKilled);
    let commands = h.commands(agent_stream);
    assert!(
        matches!(&commands[..], [AgentCommand::Acknowledge { uuid: u, .. }] if *u == uuid),
        "{commands:?}"
    );
}

#[test]
fn an_update_from_an_unknown_agent_is_a_400() {
    let Launched { mut h, fw, .. } = launched(None);
    let error = h
        .core
        .status_update(StatusUpdateMessage {
            agent_id: Id::new("nobody"),
            framework_id: fw,
            status: TaskStatus::default(),
        })
        .map_err(ApiError::from)
        .expect_err("refused");
    assert_eq!(error.status.as_u16(), 400);
    assert!(error.message.contains("Unknown agent nobody"));
}
