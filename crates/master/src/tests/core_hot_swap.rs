//! Hot swap of the allocator, driven in-process: the core, the test allocator, and the real
//! DRF component and misbehaving fixtures loaded by the plugin engine.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use corral_plugin_host::engine::{PluginEngine, PluginLimits};
use corral_plugin_host::store::ActiveAllocator;
use corral_plugin_host::{PluginError, allocator::AllocatorFactory};
use corral_test_fixtures::fixture;

use super::harness::{Harness, task};

const LIMITS: PluginLimits = PluginLimits {
    call_deadline: Duration::from_millis(300),
    memory_bytes: 64 << 20,
};

fn named(plugin: &str) -> ActiveAllocator {
    ActiveAllocator {
        plugin: plugin.into(),
        config: String::new(),
    }
}

fn drf(engine: &PluginEngine) -> AllocatorFactory {
    engine
        .allocator_factory("drf", "", LIMITS)
        .expect("drf loads")
}

fn fixture_factory(engine: &PluginEngine, name: &str) -> AllocatorFactory {
    let bytes = fixture(name).expect("fixture exists");
    engine
        .allocator_factory_from_bytes(name, bytes, "", LIMITS)
        .expect("fixture loads")
}

/// Swaps as the shell does: pending events and the core's state taken together.
fn swap(
    h: &mut Harness,
    factory: AllocatorFactory,
    plugin: &str,
    probation: u32,
) -> Result<(), PluginError> {
    let pending = h.core.take_allocator_events();
    let replay = h.core.replay_state();
    h.driver
        .swap(factory, named(plugin), pending, replay, probation)
}

fn offered_agents(offers: &[corral_api::v1::Offer]) -> BTreeSet<String> {
    offers.iter().map(|o| o.agent_id.value.clone()).collect()
}

#[test]
fn a_swap_keeps_outstanding_offers_and_offers_nothing_twice() {
    let engine = PluginEngine::new().expect("engine");
    let mut h = Harness::new();
    h.driver.set_identity(named("test"));
    let (f1, s1) = h.subscribe("f1");
    let (_f2, s2) = h.subscribe("f2");
    let (a, _) = h.add_agent("cpus:2;mem:1024");
    let (b, _) = h.add_agent("cpus:4;mem:2048");
    h.allocate();
    let before: Vec<_> = h.offers(s1).into_iter().chain(h.offers(s2)).collect();
    assert_eq!(
        offered_agents(&before),
        [a.value.clone(), b.value.clone()].into()
    );
    // A change queued before the swap: the new policy learns it from the replay, once.
    let (c, _) = h.add_agent("cpus:1;mem:256");

    swap(&mut h, drf(&engine), "drf", 3).expect("drf swaps in");
    assert_eq!(h.driver.status().get().active.plugin, "drf");
    assert!(h.driver.on_probation());
    h.allocate();
    let after: Vec<_> = h.offers(s1).into_iter().chain(h.offers(s2)).collect();
    assert_eq!(
        offered_agents(&after),
        [c.value.clone()].into(),
        "only the agent nobody held is offered: {after:?}"
    );
    assert_eq!(
        h.core.counters().invalid_grants,
        0,
        "drf knew what was held"
    );
    // The offers made before the swap are still good.
    let held: BTreeSet<String> = h.core.offers().map(|o| o.offer.id.value.clone()).collect();
    for offer in &before {
        assert!(
            held.contains(&offer.id.value),
            "offer {} survived",
            offer.id.value
        );
    }
    let on_a = before
        .iter()
        .find(|o| o.agent_id == a && o.framework_id == f1)
        .or_else(|| before.iter().find(|o| o.agent_id == a))
        .expect("an offer on a");
    let (owner, stream) = if on_a.framework_id == f1 {
        (f1.clone(), s1)
    } else {
        (on_a.framework_id.clone(), s2)
    };
    h.accept(
        &owner,
        stream,
        vec![on_a.id.clone()],
        vec![task("t1", &a, "cpus:1;mem:128")],
        None,
    );
    assert_eq!(
        h.core.counters().tasks_launched,
        1,
        "an old offer is accepted"
    );

    h.allocate();
    h.allocate();
    assert!(
        !h.driver.on_probation(),
        "three good cycles end the probation"
    );
    assert_eq!(h.driver.take_committed(), Some(named("drf")));
    let report = h.driver.status().get().last_swap.expect("a report");
    assert_eq!(report.outcome, "active");
}

#[test]
fn a_policy_that_traps_in_its_first_cycle_is_rolled_back() {
    let engine = PluginEngine::new().expect("engine");
    let mut h = Harness::new();
    h.driver.set_identity(named("test"));
    let (_f1, s1) = h.subscribe("f1");
    let (a, _) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    assert_eq!(h.offers(s1).len(), 1);
    let instances_before = h.knobs.lock().expect("knobs").instances;

    swap(
        &mut h,
        fixture_factory(&engine, "trap-allocator"),
        "trap",
        3,
    )
    .expect("its replay works");
    let (b, _) = h.add_agent("cpus:1;mem:512");
    h.allocate();
    let status = h.driver.status().get();
    assert_eq!(status.active.plugin, "test", "the old policy is back");
    let report = status.last_swap.expect("a report");
    assert_eq!(report.outcome, "rolled_back");
    let reason = report.reason.expect("a reason");
    assert!(reason.contains("trapped"), "{reason}");
    assert!(!h.driver.on_probation());
    assert_eq!(h.driver.take_committed(), None, "nothing to persist");
    // The old policy, replayed fresh, offers the new agent and nothing twice.
    h.allocate();
    assert_eq!(
        h.knobs.lock().expect("knobs").instances,
        instances_before + 1
    );
    let offers = h.offers(s1);
    assert_eq!(
        offered_agents(&offers),
        [b.value.clone()].into(),
        "{offers:?}"
    );
    assert_ne!(b, a);
}

#[test]
fn a_policy_that_loops_is_rolled_back_with_the_deadline_named() {
    let engine = PluginEngine::new().expect("engine");
    let mut h = Harness::new();
    h.driver.set_identity(named("test"));
    let (_f1, s1) = h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    swap(
        &mut h,
        fixture_factory(&engine, "loop-allocator"),
        "loop",
        3,
    )
    .expect("replays");
    h.allocate();
    let report = h.driver.status().get().last_swap.expect("a report");
    assert_eq!(report.outcome, "rolled_back");
    assert!(
        report.reason.as_deref().unwrap_or("").contains("deadline"),
        "{report:?}"
    );
    h.allocate();
    assert_eq!(h.offers(s1).len(), 1, "the old policy offers the agent");
}

#[test]
fn a_policy_that_cannot_start_is_refused_and_the_old_one_misses_nothing() {
    let mut h = Harness::new();
    h.driver.set_identity(named("test"));
    let (_f1, s1) = h.subscribe("f1");
    h.allocate();
    // Queued before the swap, handed to the swap, and so to the old policy when it fails.
    let (a, _) = h.add_agent("cpus:2;mem:1024");
    let broken: AllocatorFactory = Arc::new(|| {
        Err(PluginError::Instantiate {
            plugin: "broken".into(),
            reason: "init refused the config".into(),
        })
    });
    let err = swap(&mut h, broken, "broken", 3).unwrap_err();
    assert!(err.to_string().contains("init refused"), "{err}");
    let status = h.driver.status().get();
    assert_eq!(status.active.plugin, "test");
    assert_eq!(status.last_swap.expect("report").outcome, "refused");
    h.allocate();
    let offers = h.offers(s1);
    assert_eq!(offered_agents(&offers), [a.value.clone()].into());
    assert_eq!(
        h.knobs.lock().expect("knobs").instances,
        1,
        "no replay was needed"
    );
}

#[test]
fn a_swap_during_probation_falls_back_to_the_last_proven_policy() {
    let engine = PluginEngine::new().expect("engine");
    let mut h = Harness::new();
    h.driver.set_identity(named("test"));
    let (_f1, s1) = h.subscribe("f1");
    h.add_agent("cpus:2;mem:1024");
    swap(&mut h, drf(&engine), "drf", 3).expect("drf swaps in");
    swap(
        &mut h,
        fixture_factory(&engine, "trap-allocator"),
        "trap",
        3,
    )
    .expect("replays");
    h.allocate();
    let status = h.driver.status().get();
    assert_eq!(status.active.plugin, "test", "not the unproven drf");
    assert_eq!(status.last_swap.expect("report").outcome, "rolled_back");
    h.allocate();
    assert_eq!(h.offers(s1).len(), 1, "the test policy offers again");
}
