use corral_api::agent_protocol::AgentCommand;
use corral_api::scheduler::{Call, CallType, EventType, Subscribe};
use corral_api::v1::{FrameworkInfo, Id, TaskState};
use corral_http::error::ApiError;
use corral_state::WriteOp;

use super::harness::{Harness, task};

fn info(name: &str, failover_timeout: Option<f64>) -> FrameworkInfo {
    FrameworkInfo {
        user: "u".into(),
        name: name.into(),
        failover_timeout,
        ..Default::default()
    }
}

fn resubscribe(
    h: &mut Harness,
    mut info: FrameworkInfo,
    id: &Id,
) -> (Result<Id, String>, uuid::Uuid) {
    info.id = Some(id.clone());
    let stream = uuid::Uuid::new_v4();
    let subscribe = Subscribe {
        framework_info: info,
        suppressed_roles: vec![],
    };
    let result = h
        .core
        .subscribe(h.now, Some(id.clone()), subscribe, stream, 15.0);
    h.collect();
    (result.map_err(|e| e.to_string()), stream)
}

#[test]
fn subscribed_comes_first_with_heartbeat_and_master_info_and_is_persisted() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let events = h.events(stream);
    assert_eq!(events[0].kind, EventType::Subscribed);
    let subscribed = events[0].subscribed.clone().expect("subscribed body");
    assert_eq!(subscribed.framework_id, fw);
    assert_eq!(subscribed.heartbeat_interval_seconds, Some(15.0));
    assert_eq!(subscribed.master_info.map(|m| m.id), Some("m1".to_string()));
    assert!(fw.value.starts_with("m1-"), "ids carry the master id: {fw}");
    let writes = h.persisted();
    assert!(
        writes
            .iter()
            .any(|w| matches!(w, WriteOp::Put { key, .. } if *key == format!("frameworks/{fw}"))),
        "{writes:?}"
    );
}

#[test]
fn calls_are_checked_like_mesos_does() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe_info(info("f1", Some(60.0)));
    let revive = |id: &Id| Call::new(CallType::Revive, Some(id.clone()));
    let e = h
        .core
        .scheduler_call(h.now, revive(&Id::new("nope")), Some(&stream.to_string()))
        .map_err(ApiError::from)
        .expect_err("unknown framework");
    assert_eq!(
        (e.status.as_u16(), e.message.as_str()),
        (400, "Framework cannot be found")
    );
    let e = h
        .core
        .scheduler_call(h.now, revive(&fw), None)
        .map_err(ApiError::from)
        .expect_err("no header");
    assert_eq!(e.status.as_u16(), 400);
    assert_eq!(
        e.message,
        "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
    );
    let e = h
        .core
        .scheduler_call(h.now, revive(&fw), Some("other"))
        .map_err(ApiError::from)
        .expect_err("wrong header");
    assert_eq!(e.status.as_u16(), 400);
    assert!(
        e.message
            .starts_with("The stream ID 'other' included in this request didn't match")
    );
    let e = h
        .core
        .scheduler_call(
            h.now,
            Call::new(CallType::Accept, Some(fw.clone())),
            Some(&stream.to_string()),
        )
        .map_err(ApiError::from)
        .expect_err("accept without body");
    assert_eq!(e.message, "Expecting 'accept' to be present");
    h.core.framework_stream_closed(h.now, stream);
    let e = h
        .core
        .scheduler_call(h.now, revive(&fw), Some(&stream.to_string()))
        .map_err(ApiError::from)
        .expect_err("disconnected");
    assert_eq!(
        (e.status.as_u16(), e.message.as_str()),
        (403, "Framework is not subscribed")
    );
}

#[test]
fn resubscribing_fails_the_old_stream_over_and_keeps_tasks() {
    let mut h = Harness::new();
    let (fw, old) = h.subscribe_info(info("f1", Some(60.0)));
    let (agent, _) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(old).remove(0);
    h.accept(
        &fw,
        old,
        vec![offer.id],
        vec![task("t1", &agent, "cpus:1")],
        None,
    );
    h.allocate();
    assert!(
        h.offers(old).is_empty(),
        "the rest is filtered for the default 5 s"
    );
    h.now += 5_000;
    h.allocate();
    assert_eq!(h.offers(old).len(), 1, "then offered again");
    let (result, new) = resubscribe(&mut h, info("f1", Some(60.0)), &fw);
    assert_eq!(result, Ok(fw.clone()));
    let old_events = h.events(old);
    assert_eq!(
        old_events
            .last()
            .and_then(|e| e.error.clone())
            .map(|e| e.message),
        Some("Framework failed over".to_string())
    );
    assert!(h.closed(old), "the old stream ends");
    assert_eq!(h.events(new)[0].kind, EventType::Subscribed);
    assert!(
        h.core.offers().next().is_none(),
        "outstanding offers are withdrawn"
    );
    assert!(
        h.core
            .framework(&fw)
            .expect("known")
            .tasks
            .contains_key(&Id::new("t1"))
    );
    // The old stream closing later must not disconnect the framework.
    h.core.framework_stream_closed(h.now, old);
    assert!(h.core.framework(&fw).expect("known").connected());
    h.allocate();
    assert_eq!(
        h.offers(new).len(),
        1,
        "offers regenerate on the new stream"
    );
}

#[test]
fn a_disconnected_framework_with_no_failover_timeout_is_removed_and_its_tasks_killed() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, agent_stream) = h.add_agent("cpus:2;mem:1024");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![task("t1", &agent, "cpus:1")],
        None,
    );
    h.commands(agent_stream);
    h.core.framework_stream_closed(h.now, stream);
    h.collect();
    assert!(h.core.framework(&fw).is_none(), "removed at once");
    let commands = h.commands(agent_stream);
    assert!(
        matches!(&commands[..], [AgentCommand::ShutdownFramework { framework_id }] if *framework_id == fw)
    );
    let completed = h.core.get_tasks().completed_tasks;
    assert_eq!(completed[0].state, TaskState::TaskKilled);
    assert_eq!(h.core.get_frameworks().completed_frameworks.len(), 1);
    assert!(
        h.persisted()
            .iter()
            .any(|w| matches!(w, WriteOp::Delete { key } if *key == format!("frameworks/{fw}")))
    );
    let (result, stream) = resubscribe(&mut h, info("f1", None), &fw);
    assert!(result.is_ok());
    let events = h.events(stream);
    assert_eq!(
        events[0].error.clone().map(|e| e.message),
        Some("Framework has been removed".into())
    );
    assert!(h.closed(stream));
}

#[test]
fn the_failover_timeout_runs_on_the_simulated_clock() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe_info(info("f1", Some(10.0)));
    h.core.framework_stream_closed(h.now, stream);
    h.now += 9_000;
    h.core.tick(h.now);
    assert!(
        h.core.framework(&fw).is_some(),
        "within its failover timeout"
    );
    let (result, _) = resubscribe(&mut h, info("f1", Some(10.0)), &fw);
    assert!(result.is_ok());
    h.now += 60_000;
    h.core.tick(h.now);
    assert!(
        h.core.framework(&fw).is_some(),
        "connected frameworks never time out"
    );
    let stream = h
        .core
        .framework(&fw)
        .and_then(|f| f.stream)
        .expect("connected");
    h.core.framework_stream_closed(h.now, stream);
    h.now += 10_001;
    h.core.tick(h.now);
    assert!(h.core.framework(&fw).is_none(), "removed after its timeout");
}

#[test]
fn teardown_removes_the_framework_and_ends_its_stream() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe_info(info("f1", Some(600.0)));
    h.call(stream, Call::new(CallType::Teardown, Some(fw.clone())))
        .expect("accepted");
    assert!(h.core.framework(&fw).is_none());
    assert!(h.closed(stream));
}

#[test]
fn an_id_the_master_does_not_know_is_accepted_and_bad_info_refused() {
    let mut h = Harness::new();
    let (result, _) = resubscribe(&mut h, info("f1", None), &Id::new("from-before"));
    assert_eq!(result, Ok(Id::new("from-before")));
    let mut bad = info("f2", Some(-1.0));
    bad.roles = vec!["ok".into()];
    let error = h
        .core
        .subscribe(
            h.now,
            None,
            Subscribe {
                framework_info: bad,
                suppressed_roles: vec![],
            },
            uuid::Uuid::new_v4(),
            15.0,
        )
        .map_err(ApiError::from)
        .expect_err("negative failover timeout");
    assert!(error.message.contains("failover_timeout"));
    let mut bad_role = info("f3", None);
    bad_role.roles = vec!["has space".into()];
    let error = h
        .core
        .subscribe(
            h.now,
            None,
            Subscribe {
                framework_info: bad_role,
                suppressed_roles: vec![],
            },
            uuid::Uuid::new_v4(),
            15.0,
        )
        .map_err(ApiError::from)
        .expect_err("bad role");
    assert!(error.message.contains("Invalid role 'has space'"));
}

/// After a leader change (or restart) the new master restarts each recovered framework's
/// failover timer from its own start: a framework that set a timeout gets exactly that, one
/// that set none (0) gets the recovery grace instead of being removed at once.
#[test]
fn a_recovered_framework_gets_its_failover_timeout_from_the_new_masters_start() {
    let mut h = Harness::new();
    let mut with_timeout = info("f5", Some(5.0));
    with_timeout.id = Some(Id::new("old-leader-0001"));
    let mut without = info("f0", None);
    without.id = Some(Id::new("old-leader-0002"));
    assert!(h.core.recover_framework(h.now, with_timeout.clone()));
    assert!(h.core.recover_framework(h.now, without.clone()));
    let (with_id, without_id) = (Id::new("old-leader-0001"), Id::new("old-leader-0002"));

    h.now += 4_900;
    h.core.tick(h.now);
    assert!(h.core.framework(&with_id).is_some(), "within its 5 s");
    h.now += 200;
    h.core.tick(h.now);
    assert!(h.core.framework(&with_id).is_none(), "removed after 5 s");
    assert!(h.core.framework(&without_id).is_some(), "no timeout: grace");

    h.now += crate::frameworks::RECOVERED_FRAMEWORK_GRACE_MS;
    h.core.tick(h.now);
    assert!(h.core.framework(&without_id).is_none(), "grace over");
}

#[test]
fn a_subscribe_with_an_empty_or_malformed_id_is_refused_and_others_still_get_offers() {
    let mut h = Harness::new();
    h.add_agent("cpus:2;mem:1024");
    for (id, call_id) in [("", None), ("a/b", None), ("ok", Some("other\n"))] {
        let mut framework_info = info("bad", None);
        framework_info.id = Some(Id::new(id));
        let subscribe = Subscribe {
            framework_info,
            suppressed_roles: vec![],
        };
        let error = h
            .core
            .subscribe(
                h.now,
                call_id.map(Id::new),
                subscribe,
                uuid::Uuid::new_v4(),
                15.0,
            )
            .map_err(ApiError::from)
            .expect_err("refused");
        assert_eq!(error.status.as_u16(), 400);
        assert!(
            error.message.starts_with("Framework ID '"),
            "{id:?}: {}",
            error.message
        );
    }
    h.collect();
    assert!(h.core.get_frameworks().frameworks.is_empty());
    // The allocator refused every answer while such a framework was known: offers stopped.
    let (_, stream) = h.subscribe("good");
    h.allocate();
    assert_eq!(
        h.offers(stream).len(),
        1,
        "a well-formed framework gets offers"
    );
}
