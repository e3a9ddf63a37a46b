//! The shell's fan-out of operator events: bounded buffers, a stalled subscriber dropped.

use std::time::Duration;

use corral_api::operator_events::OperatorEventType;
use corral_api::v1::MasterInfo;
use corral_plugin_host::hook_chain::HookChain;

use super::super::allocation::AllocatorDriver;
use super::super::core::MasterCore;
use super::super::shell::Shared;
use super::harness::agent_subscribe;
use super::test_allocator::{factory, knobs};

fn shared() -> std::sync::Arc<Shared> {
    let core = MasterCore::new(MasterInfo {
        id: "m1".into(),
        port: 5050,
        ..Default::default()
    });
    let driver = AllocatorDriver::new(factory(knobs())).expect("test allocator starts");
    let (registry, _) = tokio::sync::mpsc::unbounded_channel();
    Shared::new(
        core,
        driver,
        registry,
        HookChain::default(),
        Duration::from_secs(1),
        Duration::from_secs(1),
    )
}

fn register_agents(shared: &Shared, n: usize) {
    for _ in 0..n {
        let stream = uuid::Uuid::new_v4();
        shared
            .with_core(|core, now| {
                core.agent_subscribe(now, agent_subscribe(None, "cpus:1"), stream)
            })
            .expect("agent registers");
    }
}

#[test]
fn a_subscriber_that_stops_reading_is_dropped_and_the_others_get_everything() {
    let shared = shared();
    shared.set_operator_buffer(4);
    let (_, mut reader) = shared.open_operator_stream();
    let (_, mut stalled) = shared.open_operator_stream();
    assert_eq!(shared.operator_subscribers(), 2);
    let first = reader.try_recv().expect("SUBSCRIBED");
    assert_eq!(first.kind, OperatorEventType::Subscribed);
    let mut seen = 0;
    for _ in 0..10 {
        register_agents(&shared, 1);
        while let Ok(event) = reader.try_recv() {
            assert_eq!(event.kind, OperatorEventType::AgentAdded);
            seen += 1;
        }
    }
    assert_eq!(seen, 10, "the reading subscriber got every event");
    assert_eq!(
        shared.operator_subscribers(),
        1,
        "the stalled one was dropped"
    );
    // The stalled one still holds what fitted, then its stream ends.
    let mut buffered = 0;
    while let Ok(_event) = stalled.try_recv() {
        buffered += 1;
    }
    assert_eq!(buffered, 4);
    assert!(matches!(
        stalled.try_recv(),
        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
    ));
}

#[test]
fn the_snapshot_and_the_events_after_it_do_not_overlap() {
    let shared = shared();
    register_agents(&shared, 3);
    let (stream, mut events) = shared.open_operator_stream();
    register_agents(&shared, 2);
    let subscribed = events.try_recv().expect("SUBSCRIBED");
    let state = &subscribed
        .subscribed
        .as_ref()
        .expect("subscribed")
        .get_state;
    assert_eq!(state.get_agents.agents.len(), 3);
    let mut added = 0;
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.kind, OperatorEventType::AgentAdded);
        added += 1;
    }
    assert_eq!(added, 2);
    shared.operator_stream_closed(stream);
    assert_eq!(shared.operator_subscribers(), 0);
    register_agents(&shared, 1);
    assert!(events.try_recv().is_err());
}
