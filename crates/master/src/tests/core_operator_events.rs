use corral_api::operator_events::{OperatorEvent, OperatorEventType};
use corral_api::scheduler::{Call, CallType};
use corral_api::v1::TaskState;

use super::harness::{Harness, task};

fn kinds(events: &[OperatorEvent]) -> Vec<OperatorEventType> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn no_operator_events_are_built_while_nobody_listens() {
    let mut h = Harness::new();
    h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    assert!(h.operator_events().is_empty());
}

#[test]
fn a_task_life_comes_out_as_operator_events_in_order() {
    let mut h = Harness::new();
    h.core.set_operator_events(true);
    let (fw, stream) = h.subscribe("f1");
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![task("t1", &agent, "cpus:1;mem:128")],
        Some(0.0),
    );
    h.agent_update(&agent, &fw, "t1", TaskState::TaskRunning);
    h.agent_update(&agent, &fw, "t1", TaskState::TaskFinished);
    h.call(stream, Call::new(CallType::Teardown, Some(fw.clone())))
        .expect("TEARDOWN is accepted");
    let events = h.operator_events();
    assert_eq!(
        kinds(&events),
        vec![
            OperatorEventType::FrameworkAdded,
            OperatorEventType::AgentAdded,
            OperatorEventType::TaskAdded,
            OperatorEventType::TaskUpdated,
            OperatorEventType::TaskUpdated,
            OperatorEventType::FrameworkRemoved,
        ]
    );
    let added = events[2].task_added.as_ref().expect("task_added");
    assert_eq!(added.task.task_id.value, "t1");
    assert_eq!(added.task.state, TaskState::TaskStaging);
    let running = events[3].task_updated.as_ref().expect("task_updated");
    assert_eq!(running.framework_id, fw);
    assert_eq!(running.state, TaskState::TaskRunning);
    assert_eq!(running.status.state, TaskState::TaskRunning);
    let finished = events[4].task_updated.as_ref().expect("task_updated");
    assert_eq!(finished.state, TaskState::TaskFinished);
    let framework = events[0].framework_added.as_ref().expect("framework_added");
    assert_eq!(framework.framework.framework_info.name, "f1");
    let agent_entry = events[1].agent_added.as_ref().expect("agent_added");
    assert_eq!(agent_entry.agent.agent_info.hostname, "host1");
}

#[test]
fn a_resent_update_is_not_a_second_task_updated() {
    let mut h = Harness::new();
    h.core.set_operator_events(true);
    let (fw, stream) = h.subscribe("f1");
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![task("t1", &agent, "cpus:1;mem:128")],
        Some(0.0),
    );
    h.operator_events();
    let uuid = h.agent_update(&agent, &fw, "t1", TaskState::TaskRunning);
    h.core
        .status_update(corral_api::agent_protocol::StatusUpdateMessage {
            agent_id: agent.clone(),
            framework_id: fw.clone(),
            status: corral_api::v1::TaskStatus {
                task_id: corral_api::v1::TaskId::new("t1"),
                state: TaskState::TaskRunning,
                uuid: Some(uuid),
                ..Default::default()
            },
        })
        .expect("resend accepted");
    h.collect();
    assert_eq!(
        kinds(&h.operator_events()),
        vec![OperatorEventType::TaskUpdated]
    );
}

#[test]
fn a_disconnected_framework_is_updated_and_a_gone_agent_removed() {
    let mut h = Harness::new();
    h.core.set_operator_events(true);
    let mut info = corral_api::v1::FrameworkInfo {
        user: "u".into(),
        name: "f1".into(),
        failover_timeout: Some(60.0),
        ..Default::default()
    };
    info.id = None;
    let (_, stream) = h.subscribe_info(info);
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    h.operator_events();
    h.core.framework_stream_closed(h.now, stream);
    h.core.mark_agent_gone(h.now, &agent).expect("known agent");
    h.collect();
    let events = h.operator_events();
    assert_eq!(
        kinds(&events),
        vec![
            OperatorEventType::FrameworkUpdated,
            OperatorEventType::AgentRemoved,
        ]
    );
    let updated = events[0].framework_updated.as_ref().expect("updated");
    assert!(!updated.framework.connected);
    let removed = events[1].agent_removed.as_ref().expect("removed");
    assert_eq!(removed.agent_id, agent);
}
