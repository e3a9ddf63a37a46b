use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::parse_resources;
use corral_api::v1::{
    Capability, CommandInfo, ExecutorInfo, FrameworkInfo, Id, OfferId, StatusSource, TaskInfo,
    TaskState, TaskStatus, reason,
};

use super::harness::{Harness, task};

/// A framework with one offer for a `cpus:2;mem:1024` agent.
fn offered(info: Option<FrameworkInfo>) -> (Harness, Id, uuid::Uuid, Id, uuid::Uuid, OfferId) {
    let mut h = Harness::new();
    let (fw, stream) = match info {
        Some(info) => h.subscribe_info(info),
        None => h.subscribe("f1"),
    };
    let (agent, agent_stream) = h.add_agent("cpus:2;mem:1024");
    h.commands(agent_stream);
    h.allocate();
    let offer = h.offers(stream).remove(0);
    (h, fw, stream, agent, agent_stream, offer.id)
}

fn only_update(h: &mut Harness, stream: uuid::Uuid) -> TaskStatus {
    let mut updates = h.updates(stream);
    assert_eq!(updates.len(), 1, "exactly one update: {updates:?}");
    updates.remove(0)
}

fn assert_task_error(status: &TaskStatus, contains: &str) {
    assert_eq!(status.state, TaskState::TaskError, "{status:?}");
    assert_eq!(status.reason.as_deref(), Some(reason::TASK_INVALID));
    assert_eq!(status.source, Some(StatusSource::SourceMaster));
    assert!(
        status.uuid.is_none(),
        "master-generated updates need no ack"
    );
    let message = status.message.clone().unwrap_or_default();
    assert!(
        message.contains(contains),
        "message {message:?} lacks {contains:?}"
    );
}

#[test]
fn accept_launches_the_task_on_its_agent_and_recovers_the_rest_with_the_filter() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered(None);
    h.accept(
        &fw,
        stream,
        vec![offer.clone()],
        vec![task("t1", &agent, "cpus:0.5;mem:128")],
        Some(30.0),
    );
    let commands = h.commands(agent_stream);
    assert!(
        matches!(&commands[..], [AgentCommand::RunTask { task, framework }]
            if task.task_id.value == "t1" && framework.id.as_ref() == Some(&fw)),
        "RunTask reaches the agent: {commands:?}"
    );
    let record = &h.core.framework(&fw).expect("known").tasks[&Id::new("t1")];
    assert_eq!(record.task.state, TaskState::TaskStaging);
    assert!(
        h.core.offer(&offer).is_none(),
        "an accepted offer is used up"
    );
    h.allocate();
    let calls = h.knobs.lock().expect("knobs").calls.clone();
    let until = h.now + 30_000;
    assert!(
        calls.iter().any(
            |c| c.contains("cpus:1.5; mem:896") && c.ends_with(&format!("until=Some({until})"))
        ),
        "unused resources recovered with the call's filter: {calls:?}"
    );
    assert!(h.updates(stream).is_empty(), "no update for a valid launch");
}

#[test]
fn tasks_consume_the_offer_in_order() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered(None);
    let tasks = vec![
        task("a", &agent, "cpus:1;mem:256"),
        task("b", &agent, "cpus:1;mem:256"),
        task("c", &agent, "cpus:1;mem:256"),
    ];
    h.accept(&fw, stream, vec![offer], tasks, None);
    assert_eq!(h.commands(agent_stream).len(), 2, "two tasks fit");
    let status = only_update(&mut h, stream);
    assert_eq!(status.task_id.value, "c");
    assert_task_error(&status, "more than available");
}

#[test]
fn an_unknown_or_used_offer_loses_every_task_of_the_call() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered(None);
    h.accept(
        &fw,
        stream,
        vec![offer.clone()],
        vec![task("t1", &agent, "cpus:1")],
        None,
    );
    h.commands(agent_stream);
    // The same offer again: already used.
    h.accept(
        &fw,
        stream,
        vec![offer.clone()],
        vec![task("t2", &agent, "cpus:1"), task("t3", &agent, "cpus:1")],
        None,
    );
    let updates = h.updates(stream);
    assert_eq!(updates.len(), 2);
    for status in &updates {
        assert_eq!(status.state, TaskState::TaskLost);
        assert_eq!(status.reason.as_deref(), Some(reason::INVALID_OFFERS));
        assert!(
            status
                .message
                .as_deref()
                .unwrap_or("")
                .contains("no longer valid")
        );
    }
    assert!(h.commands(agent_stream).is_empty(), "nothing launched");
}

#[test]
fn a_bad_offer_in_the_call_recovers_the_valid_ones_and_drops_tasks_for_partition_aware() {
    let info = FrameworkInfo {
        name: "pa".into(),
        capabilities: vec![Capability {
            kind: "PARTITION_AWARE".into(),
        }],
        ..Default::default()
    };
    let (mut h, fw, stream, agent, _agent_stream, offer) = offered(Some(info));
    h.accept(
        &fw,
        stream,
        vec![offer.clone(), OfferId::new("nope")],
        vec![task("t1", &agent, "cpus:1")],
        None,
    );
    let status = only_update(&mut h, stream);
    assert_eq!(status.state, TaskState::TaskDropped);
    assert_eq!(status.reason.as_deref(), Some(reason::INVALID_OFFERS));
    assert!(
        h.core.offer(&offer).is_none(),
        "the valid offer was recovered"
    );
    h.allocate();
    assert_eq!(h.offers(stream).len(), 1, "and is offered again");
}

#[test]
fn each_invalid_task_gets_task_error_with_a_clear_message() {
    type MakeTask = Box<dyn Fn(&Id) -> TaskInfo>;
    let cases: Vec<(&str, MakeTask)> = vec![
        (
            "Task uses invalid agent other while agent",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.agent_id = Id::new("other");
                t
            }),
        ),
        (
            "Task uses no resources",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.resources.clear();
                t
            }),
        ),
        (
            "more than available",
            Box::new(|a: &Id| task("x", a, "cpus:3")),
        ),
        (
            "more than available",
            Box::new(|a: &Id| task("x", a, "gpus:1")),
        ),
        (
            "at least one (but not both) of CommandInfo or ExecutorInfo",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.command = None;
                t
            }),
        ),
        (
            "at least one (but not both) of CommandInfo or ExecutorInfo",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.executor = Some(ExecutorInfo::default());
                t
            }),
        ),
        (
            "a shell command",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.command = Some(CommandInfo::default());
                t
            }),
        ),
        (
            "Executor's `CommandInfo` is missing",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.command = None;
                t.executor = Some(ExecutorInfo {
                    executor_id: Id::new("e"),
                    ..Default::default()
                });
                t
            }),
        ),
        (
            // A checkpoint file name on the agent: longer fails there ("File name too long").
            "at most 255 bytes",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.task_id = Id::new("t".repeat(300));
                t
            }),
        ),
        (
            "Executor ID 'a/b' is invalid",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.command = None;
                t.executor = Some(ExecutorInfo {
                    executor_id: Id::new("a/b"),
                    ..Default::default()
                });
                t
            }),
        ),
        (
            "is not a number from 0 to 1e12",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                if let Some(cpus) = t.resources[0].scalar.as_mut() {
                    cpus.value = 1e300;
                }
                t
            }),
        ),
        (
            "Task ID '../x' is invalid",
            Box::new(|a: &Id| {
                let mut t = task("x", a, "cpus:1");
                t.task_id = Id::new("../x");
                t
            }),
        ),
    ];
    for (expected, make) in cases {
        let (mut h, fw, stream, agent, agent_stream, offer) = offered(None);
        h.accept(&fw, stream, vec![offer], vec![make(&agent)], None);
        let status = only_update(&mut h, stream);
        assert_task_error(&status, expected);
        assert!(
            h.commands(agent_stream).is_empty(),
            "{expected}: nothing launched"
        );
        assert!(h.core.framework(&fw).expect("known").tasks.is_empty());
    }
}

#[test]
fn fractional_gpus_are_refused() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, _) = h.add_agent("cpus:2;mem:1024;gpus:2");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    let mut t = task("g", &agent, "cpus:1");
    t.resources
        .extend(parse_resources("gpus:0.5").expect("parses"));
    h.accept(&fw, stream, vec![offer.id], vec![t], None);
    assert_task_error(
        &only_update(&mut h, stream),
        "'gpus' resource must be an unsigned integer",
    );
}

#[test]
fn a_duplicate_task_id_is_refused_whether_active_or_earlier_in_the_call() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered(None);
    h.accept(
        &fw,
        stream,
        vec![offer],
        vec![
            task("t1", &agent, "cpus:0.5"),
            task("t1", &agent, "cpus:0.5"),
        ],
        Some(0.0),
    );
    assert_eq!(h.commands(agent_stream).len(), 1, "the first t1 launches");
    assert_task_error(&only_update(&mut h, stream), "Task has duplicate ID: t1");
    h.allocate();
    let offer = h.offers(stream).remove(0);
    h.accept(
        &fw,
        stream,
        vec![offer.id],
        vec![task("t1", &agent, "cpus:0.5")],
        None,
    );
    assert_task_error(&only_update(&mut h, stream), "Task has duplicate ID: t1");
    assert!(
        h.commands(agent_stream).is_empty(),
        "a task is never launched twice"
    );
}
