use corral_api::resources::Resources;
use corral_api::scheduler::{Call, CallType, Decline, EventType, Roles};
use corral_api::v1::{Filters, ValueType};

use super::harness::Harness;

#[test]
fn an_agent_is_offered_whole_to_a_framework_with_its_role() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, _) = h.add_agent("cpus:2;mem:1024;ports:[31000-32000]");
    h.allocate();
    let offers = h.offers(stream);
    assert_eq!(offers.len(), 1, "one offer for one agent");
    let offer = &offers[0];
    assert_eq!(offer.framework_id, fw);
    assert_eq!(offer.agent_id, agent);
    assert_eq!(offer.hostname, "host1");
    let resources = Resources::from_list(&offer.resources);
    assert_eq!(resources.scalar("cpus"), 2.0);
    assert_eq!(resources.scalar("mem"), 1024.0);
    assert!(offer.resources.iter().any(|r| r.kind == ValueType::Ranges));
    for r in &offer.resources {
        let role = r.allocation_info.as_ref().and_then(|a| a.role.as_deref());
        assert_eq!(
            role,
            Some("*"),
            "every offered resource carries its allocation role"
        );
    }
    assert!(
        h.core.offer(&offer.id).is_some(),
        "the master tracks the offer"
    );
    assert_eq!(h.core.counters().offers_sent, 1);
    h.allocate();
    assert!(
        h.offers(stream).is_empty(),
        "offered resources are not offered twice"
    );
}

#[test]
fn a_declined_offer_is_not_reoffered_before_its_filter_expires() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    let mut decline = Call::new(CallType::Decline, Some(fw.clone()));
    decline.decline = Some(Decline {
        offer_ids: vec![offer.id.clone()],
        filters: Some(Filters {
            refuse_seconds: Some(10.0),
        }),
    });
    h.call(stream, decline).expect("DECLINE accepted");
    assert!(
        h.core.offer(&offer.id).is_none(),
        "a declined offer is gone"
    );
    h.now += 5_000;
    h.allocate();
    assert!(h.offers(stream).is_empty(), "filtered for 10 s");
    h.now += 6_000;
    h.allocate();
    assert_eq!(h.offers(stream).len(), 1, "offered again after the filter");
}

#[test]
fn revive_clears_filters_and_suppress_stops_offers() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    let mut suppress = Call::new(CallType::Suppress, Some(fw.clone()));
    suppress.suppress = Some(Roles::default());
    h.call(stream, suppress).expect("SUPPRESS accepted");
    h.allocate();
    assert!(
        h.offers(stream).is_empty(),
        "a suppressed framework gets no offers"
    );
    assert!(
        h.core
            .framework(&fw)
            .expect("known")
            .suppressed_roles
            .contains("*")
    );
    h.call(stream, Call::new(CallType::Revive, Some(fw.clone())))
        .expect("REVIVE accepted");
    h.allocate();
    assert_eq!(h.offers(stream).len(), 1, "revived");
}

#[test]
fn a_grant_that_over_allocates_an_agent_is_dropped_and_recovered() {
    let mut h = Harness::new();
    let (_f1, s1) = h.subscribe("f1");
    let (_f2, s2) = h.subscribe("f2");
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let first: Vec<_> = h.offers(s1).into_iter().chain(h.offers(s2)).collect();
    assert_eq!(first.len(), 1);
    h.knobs.lock().expect("knobs").over_allocate = true;
    h.allocate();
    let second: Vec<_> = h.offers(s1).into_iter().chain(h.offers(s2)).collect();
    assert!(
        second.is_empty(),
        "the agent is fully offered; a second grant is invalid"
    );
    assert_eq!(h.core.counters().invalid_grants, 1);
    assert_eq!(h.core.offers().count(), 1, "never more than the agent has");
    h.knobs.lock().expect("knobs").over_allocate = false;
    h.allocate();
    let calls = h.knobs.lock().expect("knobs").calls.clone();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with(&format!("recover {agent}"))),
        "the invalid grant went back to the allocator: {calls:?}"
    );
}

#[test]
fn offers_events_are_typed_offers() {
    let mut h = Harness::new();
    let (_fw, stream) = h.subscribe("f1");
    h.add_agent("cpus:1;mem:128");
    h.allocate();
    let events = h.events(stream);
    assert!(events.iter().any(|e| e.kind == EventType::Offers));
}
