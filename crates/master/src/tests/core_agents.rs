use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::parse_resources;
use corral_api::scheduler::{Call, CallType, EventType, Reconcile, Subscribe};
use corral_api::v1::{FrameworkInfo, Id, Task, TaskState, reason};
use corral_http::error::ApiError;

use super::harness::{Harness, agent_subscribe, task};

#[test]
fn registered_is_the_first_command_and_the_agent_is_persisted() {
    let mut h = Harness::new();
    let (agent, stream) = h.add_agent("cpus:1;mem:64");
    let commands = h.commands(stream);
    assert_eq!(
        commands[0],
        AgentCommand::Registered {
            agent_id: agent.clone()
        }
    );
    assert!(h.persisted().iter().any(|w| matches!(w,
        corral_state::WriteOp::Put { key, .. } if *key == format!("agents/{agent}"))));
    let error = h
        .core
        .agent_subscribe(h.now, agent_subscribe(None, ""), uuid::Uuid::new_v4());
    assert!(error.is_ok(), "an agent with no resources may register");
    let mut nameless = agent_subscribe(None, "cpus:1");
    nameless.info.hostname.clear();
    let error = h
        .core
        .agent_subscribe(h.now, nameless, uuid::Uuid::new_v4())
        .map_err(ApiError::from)
        .expect_err("no hostname");
    assert_eq!(error.status.as_u16(), 400);
}

#[test]
fn an_agent_disconnect_rescinds_its_offers_and_a_stale_stream_changes_nothing() {
    let mut h = Harness::new();
    let (_fw, stream) = h.subscribe("f1");
    let (agent, agent_stream) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.core.agent_stream_closed(agent_stream);
    h.collect();
    let events = h.events(stream);
    assert!(
        events.iter().any(|e| e.kind == EventType::Rescind
            && e.rescind.as_ref().map(|r| &r.offer_id) == Some(&offer.id)),
        "{events:?}"
    );
    assert!(h.core.offer(&offer.id).is_none());
    assert!(
        !h.core.agent(&agent).expect("known").connected(),
        "tasks and agent stay, disconnected"
    );
    h.allocate();
    assert!(
        h.offers(stream).is_empty(),
        "nothing offered from a disconnected agent"
    );

    let (same, new_stream) =
        h.agent_subscribe(agent_subscribe(Some(agent.clone()), "cpus:2;mem:1024"));
    assert_eq!(same, agent);
    let (_, newest) = h.agent_subscribe(agent_subscribe(Some(agent.clone()), "cpus:2;mem:1024"));
    h.core.agent_stream_closed(new_stream);
    assert_eq!(
        h.core.agent(&agent).and_then(|a| a.stream),
        Some(newest),
        "the newest stream wins"
    );
    h.allocate();
    assert_eq!(h.offers(stream).len(), 1);
}

#[test]
fn a_reregistering_agent_loses_the_tasks_it_does_not_report() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![
            task("kept", &agent, "cpus:1"),
            task("gone", &agent, "cpus:0.5"),
        ],
        Some(0.0),
    );
    let kept = Task {
        name: "kept".into(),
        task_id: Id::new("kept"),
        framework_id: fw.clone(),
        agent_id: agent.clone(),
        state: TaskState::TaskRunning,
        resources: parse_resources("cpus:1").expect("parses"),
        ..Default::default()
    };
    let mut again = agent_subscribe(Some(agent.clone()), "cpus:2;mem:1024");
    again.tasks = vec![kept];
    h.agent_subscribe(again);
    let updates = h.updates(stream);
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].task_id.value, "gone");
    assert_eq!(updates[0].state, TaskState::TaskLost);
    assert_eq!(updates[0].reason.as_deref(), Some(reason::AGENT_RESTARTED));
    let tasks = &h.core.framework(&fw).expect("known").tasks;
    assert!(tasks.contains_key(&Id::new("kept")) && !tasks.contains_key(&Id::new("gone")));
    h.allocate();
    let offers = h.offers(stream);
    let offered: f64 = offers
        .iter()
        .map(|o| corral_api::resources::Resources::from_list(&o.resources).scalar("cpus"))
        .sum();
    assert_eq!(
        offered, 1.0,
        "the lost task's cpus are free again, the kept task's are not"
    );
}

#[test]
fn after_a_master_restart_reported_tasks_are_adopted_and_their_framework_resubscribes() {
    let mut h = Harness::new();
    let fw = Id::new("old-master-0000");
    let agent = Id::new("old-master-S0");
    let framework_info = FrameworkInfo {
        id: Some(fw.clone()),
        name: "survivor".into(),
        failover_timeout: Some(3600.0),
        ..Default::default()
    };
    let running = Task {
        name: "web".into(),
        task_id: Id::new("web"),
        framework_id: fw.clone(),
        agent_id: agent.clone(),
        state: TaskState::TaskRunning,
        resources: parse_resources("cpus:1;mem:256").expect("parses"),
        ..Default::default()
    };
    let mut again = agent_subscribe(Some(agent.clone()), "cpus:2;mem:1024");
    again.tasks = vec![running];
    again.frameworks = vec![framework_info.clone()];
    h.agent_subscribe(again);
    let framework = h
        .core
        .framework(&fw)
        .expect("recovered from the agent's report");
    assert!(framework.recovered && !framework.connected());
    assert_eq!(framework.info.name, "survivor");
    let calls = h.knobs.lock().expect("knobs").calls.clone();
    h.allocate();
    let calls_after = h.knobs.lock().expect("knobs").calls.clone();
    assert!(calls.len() < calls_after.len());
    assert!(
        calls_after
            .iter()
            .any(|c| c == &format!("add_agent {agent} [{fw}=cpus:1; mem:256]")),
        "the allocator learns what the adopted task holds: {calls_after:?}"
    );
    let stream = uuid::Uuid::new_v4();
    let subscribe = Subscribe {
        framework_info,
        suppressed_roles: vec![],
    };
    h.core
        .subscribe(h.now, Some(fw.clone()), subscribe, stream, 15.0)
        .expect("resubscribes");
    h.collect();
    let mut reconcile = Call::new(CallType::Reconcile, Some(fw.clone()));
    reconcile.reconcile = Some(Reconcile::default());
    h.call(stream, reconcile).expect("RECONCILE accepted");
    let updates = h.updates(stream);
    assert_eq!(updates.len(), 1);
    assert_eq!(
        (updates[0].task_id.value.as_str(), updates[0].state),
        ("web", TaskState::TaskRunning)
    );
    h.allocate();
    let offers = h.offers(stream);
    let free: f64 = offers
        .iter()
        .map(|o| corral_api::resources::Resources::from_list(&o.resources).scalar("cpus"))
        .sum();
    assert_eq!(free, 1.0, "the adopted task's resources are not offered");
}

#[test]
fn an_agent_id_that_cannot_be_a_directory_name_is_refused() {
    let mut h = Harness::new();
    for (id, expect) in [
        ("", "must not be empty"),
        ("../etc", "'/' and '\\' are disallowed"),
        ("..", "'.' and '..'"),
    ] {
        let subscribe = agent_subscribe(Some(Id::new(id)), "cpus:1");
        let error = h
            .core
            .agent_subscribe(h.now, subscribe, uuid::Uuid::new_v4())
            .map_err(ApiError::from)
            .expect_err(id);
        assert_eq!(error.status.as_u16(), 400, "{id}");
        assert!(error.message.contains(expect), "{id}: {}", error.message);
    }
    h.collect();
    assert!(h.core.get_agents().agents.is_empty(), "no agent was added");
}

/// The fuzz target `master_agent_subscribe` fails on this
/// (crates/fuzz/regressions/master_agent_subscribe): an agent's `cpus` of f64::MAX was
/// admitted, rounding made its total infinite, and AGENT_ADDED and GET_STATE wrote `null`.
#[test]
fn an_agent_with_an_amount_past_the_largest_scalar_is_refused() {
    let mut h = Harness::new();
    let mut subscribe = agent_subscribe(None, "cpus:1");
    for (value, expect) in [(f64::MAX, "not a number from 0 to 1e12"), (-1.0, "from 0")] {
        subscribe.info.resources[0]
            .scalar
            .as_mut()
            .expect("cpus is a scalar")
            .value = value;
        let error = h
            .core
            .agent_subscribe(h.now, subscribe.clone(), uuid::Uuid::new_v4())
            .map_err(ApiError::from)
            .expect_err("refused");
        assert_eq!(error.status.as_u16(), 400);
        assert!(error.message.contains(expect), "{value}: {}", error.message);
    }
    h.collect();
    assert!(h.core.get_agents().agents.is_empty(), "no agent was added");
}
