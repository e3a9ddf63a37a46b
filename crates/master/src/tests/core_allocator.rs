use corral_plugin_host::PluginError;

use super::harness::Harness;

fn trap() -> PluginError {
    PluginError::Trap {
        plugin: "test".into(),
        call: "allocate".into(),
        message: "unreachable".into(),
    }
}

#[test]
fn a_poisoned_allocator_is_recreated_and_replayed() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    let (_, stream2) = h.subscribe("f2");
    let (agent2, _) = h.add_agent("cpus:1;mem:512");
    h.allocate();
    let held = h.offers(stream).len() + h.offers(stream2).len();
    assert_eq!(held, 2);
    let (agent3, _) = h.add_agent("cpus:4;mem:4096");
    h.knobs.lock().expect("knobs").fail_allocate = Some(trap());
    h.allocate();
    assert!(h.driver.needs_replay(), "the instance is dropped");
    assert!(
        h.core.take_wants_allocation(),
        "a replay is asked for at once"
    );
    assert_eq!(h.core.counters().allocator_errors, 1);
    h.allocate();
    let knobs = h.knobs.lock().expect("knobs");
    assert_eq!(knobs.instances, 2, "a fresh instance");
    let replayed: Vec<&String> = knobs
        .calls
        .iter()
        .skip_while(|c| *c != "allocate failed")
        .collect();
    assert!(
        replayed
            .iter()
            .any(|c| c.starts_with(&format!("add_framework {fw} active=true"))),
        "{replayed:?}"
    );
    assert!(
        replayed
            .iter()
            .any(|c| c.starts_with(&format!("add_agent {agent} [{fw}="))),
        "agents come back with what frameworks hold: {replayed:?}"
    );
    assert!(
        replayed
            .iter()
            .any(|c| c.starts_with(&format!("add_agent {agent2} [")))
    );
    drop(knobs);
    let offers: Vec<_> = h
        .offers(stream)
        .into_iter()
        .chain(h.offers(stream2))
        .collect();
    assert_eq!(
        offers.len(),
        1,
        "the master keeps offering after the replay"
    );
    assert_eq!(offers[0].agent_id, agent3);
    assert_eq!(h.core.counters().allocator_replays, 1);
}

#[test]
fn a_poisoning_event_call_also_leads_to_a_replay() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.knobs.lock().expect("knobs").fail_recover = Some(PluginError::Timeout {
        plugin: "test".into(),
        call: "recover".into(),
        deadline_ms: 100,
    });
    let mut decline = corral_api::scheduler::Call::new(
        corral_api::scheduler::CallType::Decline,
        Some(fw.clone()),
    );
    decline.decline = Some(corral_api::scheduler::Decline {
        offer_ids: vec![offer.id],
        filters: Some(corral_api::v1::Filters {
            refuse_seconds: Some(0.0),
        }),
    });
    h.call(stream, decline).expect("DECLINE accepted");
    h.allocate();
    assert!(h.driver.needs_replay());
    h.allocate();
    assert_eq!(h.knobs.lock().expect("knobs").instances, 2);
    assert_eq!(
        h.offers(stream).len(),
        1,
        "the declined resources come back through the replay"
    );
}

#[test]
fn a_non_poisoning_error_keeps_the_instance() {
    let mut h = Harness::new();
    let (_fw, stream) = h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    h.knobs.lock().expect("knobs").fail_allocate = Some(PluginError::BadAnswer {
        plugin: "test".into(),
        call: "allocate".into(),
        message: "nonsense".into(),
    });
    h.allocate();
    assert!(!h.driver.needs_replay());
    assert_eq!(h.core.counters().allocator_errors, 1);
    h.allocate();
    assert_eq!(h.offers(stream).len(), 1);
    assert_eq!(h.knobs.lock().expect("knobs").instances, 1);
}
