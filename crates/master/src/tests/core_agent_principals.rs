//! An agent id answers only to the principal that registered it: a second subscription (or an
//! update: the same check) under it from another principal is refused, the binding is written to the
//! registry, and a master that recovers it keeps refusing.

use corral_http::error::ApiError;
use corral_state::WriteOp;

use super::harness::{Harness, agent_subscribe};

#[test]
fn another_principal_may_not_use_a_bound_agent_id() {
    let mut h = Harness::new();
    let agent = h
        .core
        .agent_subscribe_as(
            h.now,
            agent_subscribe(None, "cpus:1"),
            Some("a1"),
            uuid::Uuid::new_v4(),
        )
        .expect("registered");
    h.collect();
    let key = format!("agent_principals/{agent}");
    let written = h
        .persisted()
        .into_iter()
        .any(|op| matches!(op, WriteOp::Put { key: k, value } if k == key && value == br#""a1""#));
    assert!(written, "the binding is in the registry");

    let again = agent_subscribe(Some(agent.clone()), "cpus:1");
    for intruder in [Some("a2"), None] {
        let refused = h
            .core
            .agent_subscribe_as(h.now, again.clone(), intruder, uuid::Uuid::new_v4())
            .map_err(ApiError::from)
            .expect_err("refused");
        assert_eq!(refused.status.as_u16(), 403, "{intruder:?}");
        assert!(!refused.message.contains("a1"), "the owner is not named");
    }
    assert!(h.core.check_agent_principal(&agent, Some("a2")).is_err());
    assert!(h.core.check_agent_principal(&agent, Some("a1")).is_ok());
    h.core
        .agent_subscribe_as(h.now, again, Some("a1"), uuid::Uuid::new_v4())
        .expect("its owner re-registers");

    // A new master that recovers the agent and its binding refuses the intruder too.
    let mut recovered = Harness::new();
    let mut info = agent_subscribe(None, "cpus:1").info;
    info.id = Some(agent.clone());
    assert!(recovered.core.recover_agent(recovered.now, info));
    recovered.core.recover_agent_principal(&agent, "a1".into());
    assert!(
        recovered
            .core
            .check_agent_principal(&agent, Some("a2"))
            .is_err()
    );
    assert!(
        recovered
            .core
            .check_agent_principal(&agent, Some("a1"))
            .is_ok()
    );
}
