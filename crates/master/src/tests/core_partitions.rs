//! Partitions and gone agents in the registry: an unreachable agent is recorded and cleared
//! when it is back; a gone one is recorded, removed, and refused when it returns.

use corral_api::agent_protocol::AgentCommand;
use corral_state::WriteOp;

use super::harness::{Harness, agent_subscribe};

fn has_put(ops: &[WriteOp], key: &str) -> bool {
    ops.iter()
        .any(|op| matches!(op, WriteOp::Put { key: k, .. } if k == key))
}

fn has_delete(ops: &[WriteOp], key: &str) -> bool {
    ops.iter()
        .any(|op| matches!(op, WriteOp::Delete { key: k } if k == key))
}

#[test]
fn an_unreachable_agent_is_recorded_until_it_is_back() {
    let mut h = Harness::new();
    let (agent, stream) = h.add_agent("cpus:1;mem:512");
    h.persisted();
    assert!(h.core.mark_agent_unreachable(h.now, &agent, stream));
    h.collect();
    let key = format!("unreachable/{agent}");
    assert!(has_put(&h.persisted(), &key));
    assert!(
        !h.core.mark_agent_unreachable(h.now, &agent, stream),
        "already unreachable: nothing more to do"
    );
    assert!(h.core.connected_agents().is_empty());

    h.agent_subscribe(agent_subscribe(Some(agent.clone()), "cpus:1;mem:512"));
    assert!(
        has_delete(&h.persisted(), &key),
        "back: no longer unreachable"
    );
    assert_eq!(h.core.connected_agents().len(), 1);
}

#[test]
fn an_unreachable_agent_recovered_from_the_registry_is_cleared_when_it_is_back() {
    // A master restarted while the agent was unreachable learns it from `unreachable/<id>`.
    let mut h = Harness::new();
    let agent = corral_api::v1::Id::new("restarted-S1");
    h.core.recover_unreachable(agent.clone());
    h.agent_subscribe(agent_subscribe(Some(agent.clone()), "cpus:1;mem:512"));
    assert!(has_delete(&h.persisted(), &format!("unreachable/{agent}")));
}

#[test]
fn a_gone_agent_is_removed_and_refused_when_it_returns() {
    let mut h = Harness::new();
    let (agent, stream) = h.add_agent("cpus:1;mem:512");
    h.persisted();
    let closed = h.core.mark_agent_gone(h.now, &agent).expect("known agent");
    assert_eq!(closed, Some(stream), "its stream is to be closed");
    h.collect();
    // Mesos' `Master::markGone` sends a ShutdownMessage: the last record of its stream.
    assert_eq!(
        h.commands(stream).last(),
        Some(&AgentCommand::Shutdown {
            message: "Agent has been marked gone".into()
        })
    );
    let ops = h.persisted();
    assert!(has_delete(&ops, &format!("agents/{agent}")));
    assert!(has_put(&ops, &format!("gone/{agent}")));
    assert!(h.core.agent(&agent).is_none());

    let err = h
        .core
        .agent_subscribe(
            h.now,
            agent_subscribe(Some(agent.clone()), "cpus:1;mem:512"),
            uuid::Uuid::new_v4(),
        )
        .expect_err("a gone agent is refused");
    assert!(format!("{err:?}").contains("marked gone"), "{err:?}");
    // Its later calls too, with words by which the agent knows to shut down.
    let refused = h
        .core
        .check_agent_caller(&agent, None)
        .expect_err("a gone agent's update is refused");
    let answer = corral_http::error::ApiError::from(refused);
    assert!(
        corral_api::agent_protocol::is_gone_refusal(answer.status.as_u16(), &answer.message),
        "{answer:?}"
    );
    assert!(
        h.core
            .mark_agent_gone(h.now, &corral_api::v1::Id::new("nobody"))
            .is_err(),
        "an unknown agent is an error"
    );
}

/// A new leader (or a restarted master) learns gone agents from `gone/<id>` and refuses them.
#[test]
fn an_agent_marked_gone_before_a_leader_change_is_refused_by_the_new_leader() {
    let mut h = Harness::new();
    let agent = corral_api::v1::Id::new("old-leader-S3");
    h.core.recover_gone(agent.clone());
    let err = h
        .core
        .agent_subscribe(
            h.now,
            agent_subscribe(Some(agent.clone()), "cpus:1;mem:512"),
            uuid::Uuid::new_v4(),
        )
        .expect_err("a gone agent is refused");
    assert!(format!("{err:?}").contains("marked gone"), "{err:?}");
    assert!(h.core.agent(&agent).is_none());
}
