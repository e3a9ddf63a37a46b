//! Framework messages between a scheduler and its executors pass through the master.

use corral_api::agent_protocol::{AgentCommand, ExecutorMessage};
use corral_api::scheduler::{Call, CallType, EventType, Message};
use corral_api::v1::{AgentId, FrameworkId, Id};
use corral_http::error::ApiError;

use super::harness::Harness;

#[test]
fn a_scheduler_message_goes_to_the_executors_agent_and_back() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, agent_stream) = h.add_agent("cpus:2;mem:1024");
    h.commands(agent_stream);
    h.events(stream);

    let mut call = Call::new(CallType::Message, Some(fw.clone()));
    call.message = Some(Message {
        agent_id: agent.clone(),
        executor_id: Id::new("e1"),
        data: "cGluZw==".into(),
    });
    h.call(stream, call).expect("MESSAGE is accepted");
    let commands = h.commands(agent_stream);
    assert_eq!(
        commands,
        vec![AgentCommand::FrameworkMessage {
            framework_id: fw.clone(),
            executor_id: Id::new("e1"),
            data: "cGluZw==".into(),
        }]
    );

    h.core
        .executor_message(ExecutorMessage {
            agent_id: agent.clone(),
            framework_id: fw.clone(),
            executor_id: Id::new("e1"),
            data: "cG9uZw==".into(),
        })
        .expect("relayed");
    h.collect();
    let events = h.events(stream);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventType::Message);
    let message = events[0].message.clone().expect("message");
    assert_eq!(message.agent_id, agent);
    assert_eq!(message.executor_id, Id::new("e1"));
    assert_eq!(message.data, "cG9uZw==");
}

#[test]
fn a_message_from_an_unknown_agent_is_refused() {
    let mut h = Harness::new();
    let (fw, _) = h.subscribe("f1");
    let refused = h.core.executor_message(ExecutorMessage {
        agent_id: AgentId::new("nope"),
        framework_id: FrameworkId::new(fw.value.clone()),
        executor_id: Id::new("e1"),
        data: String::new(),
    });
    let error = refused.map_err(ApiError::from).expect_err("unknown agent");
    assert!(error.message.contains("Unknown agent nope"), "{error}");
}
