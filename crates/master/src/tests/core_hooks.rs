//! Hook verdicts in the core, without any plugin: an ACCEPT lists the tasks that wait for
//! `on-launch`, changes nothing until it has their verdicts, then applies them; an agent's
//! registration applies the `on-agent-register` verdict it is given.

use corral_api::agent_protocol::AgentCommand;
use corral_api::resources::parse_resources;
use corral_api::scheduler::{Accept, Call, CallType, Launch, Operation, OperationType};
use corral_api::v1::{
    AgentId, FrameworkId, Label, Labels, OfferId, TaskInfo, TaskState, ValueType, reason,
};

use super::super::calls::CallOutcome;
use super::super::core_error::CoreError;
use super::super::hook_verdicts::{
    AgentHookVerdict, LaunchHookRequest, LaunchHookVerdict, LaunchHooks,
};
use super::harness::{Harness, agent_subscribe, task};

/// A framework with one offer of the whole of a `resources` agent.
fn offered(
    resources: &str,
) -> (
    Harness,
    FrameworkId,
    uuid::Uuid,
    AgentId,
    uuid::Uuid,
    OfferId,
) {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe("f1");
    let (agent, agent_stream) = h.add_agent(resources);
    h.commands(agent_stream);
    h.allocate();
    let offer = h.offers(stream).remove(0);
    (h, fw, stream, agent, agent_stream, offer.id)
}

fn accept_call(fw: &FrameworkId, offer: &OfferId, tasks: Vec<TaskInfo>) -> Call {
    let mut call = Call::new(CallType::Accept, Some(fw.clone()));
    call.accept = Some(Accept {
        offer_ids: vec![offer.clone()],
        operations: vec![Operation {
            kind: OperationType::Launch,
            launch: Some(Launch { task_infos: tasks }),
            reserve: None,
            unreserve: None,
            id: None,
        }],
        filters: None,
    });
    call
}

/// One round of the call with the verdicts known so far: the requests it waits for, or
/// `None` once it is done.
fn round(
    h: &mut Harness,
    stream: uuid::Uuid,
    call: Call,
    hooks: &LaunchHooks,
) -> Result<Option<(Call, Vec<LaunchHookRequest>)>, CoreError> {
    let header = stream.to_string();
    let outcome = h
        .core
        .scheduler_call_with_hooks(h.now, call, Some(&header), hooks)?;
    Ok(match outcome {
        CallOutcome::Done => None,
        CallOutcome::AwaitingLaunchHooks { call, requests } => Some((*call, requests)),
    })
}

fn labelled(mut task: TaskInfo, key: &str, value: &str) -> TaskInfo {
    task.labels = Some(Labels {
        labels: vec![Label {
            key: key.into(),
            value: Some(value.into()),
        }],
    });
    task
}

#[test]
fn accept_waits_for_the_hooks_then_launches_the_allowed_task_decorated_and_denies_the_other() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered("cpus:2;mem:1024");
    let tasks = vec![
        task("small", &agent, "cpus:0.5;mem:64"),
        task("big", &agent, "cpus:1;mem:64"),
    ];
    let mut hooks = LaunchHooks::awaiting();
    let (call, requests) = round(&mut h, stream, accept_call(&fw, &offer, tasks), &hooks)
        .expect("the call is valid")
        .expect("the tasks wait for the hooks");
    let asked: Vec<(usize, &str)> = requests
        .iter()
        .map(|r| (r.index, r.task.task_id.value.as_str()))
        .collect();
    assert_eq!(asked, [(0, "small"), (1, "big")]);
    assert_eq!(requests[0].framework.id, fw.value);
    assert_eq!(
        requests[0].framework.roles.first().map(String::as_str),
        Some("*"),
        "the hooks see the offers' role first"
    );
    assert!(h.core.take_effects().is_empty(), "nothing happens yet");
    assert!(
        h.core.offer(&offer).is_some(),
        "the offer is still outstanding"
    );

    let decorated = labelled(requests[0].task.clone(), "team", "infra");
    hooks.add([
        (0, LaunchHookVerdict::Allow(Box::new(decorated))),
        (
            1,
            LaunchHookVerdict::Deny {
                hook: "admission".into(),
                reason: "default.max_cpus is 0.5".into(),
            },
        ),
    ]);
    let done = round(&mut h, stream, call, &hooks).expect("the call is valid");
    assert!(done.is_none(), "every task has its verdict");
    h.collect();

    let commands = h.commands(agent_stream);
    let [AgentCommand::RunTask { task, .. }] = &commands[..] else {
        panic!("one RunTask: {commands:?}");
    };
    assert_eq!(task.task_id.value, "small");
    assert_eq!(
        task.labels.as_ref().map(|l| l.labels[0].key.as_str()),
        Some("team"),
        "the task launches as the hooks decorated it"
    );
    let updates = h.updates(stream);
    let [denied] = &updates[..] else {
        panic!("one update: {updates:?}");
    };
    assert_eq!(denied.task_id.value, "big");
    assert_eq!(denied.state, TaskState::TaskError);
    assert_eq!(denied.reason.as_deref(), Some(reason::TASK_UNAUTHORIZED));
    assert_eq!(
        denied.message.as_deref(),
        Some("Task denied by hook admission: default.max_cpus is 0.5")
    );
    assert!(h.core.offer(&offer).is_none(), "the offer is used");
    let launched = h.core.framework(&fw).map(|f| f.tasks.len());
    assert_eq!(launched, Some(1));
}

#[test]
fn a_denial_frees_resources_for_a_task_after_it_which_then_goes_to_the_hooks() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered("cpus:1;mem:256");
    let tasks = vec![
        task("first", &agent, "cpus:1;mem:64"),
        task("second", &agent, "cpus:1;mem:64"),
    ];
    let mut hooks = LaunchHooks::awaiting();
    let (call, requests) = round(&mut h, stream, accept_call(&fw, &offer, tasks), &hooks)
        .expect("valid")
        .expect("waits");
    // Were the first allowed, the second would not fit: it is not asked about yet.
    assert_eq!(requests.iter().map(|r| r.index).collect::<Vec<_>>(), [0]);
    hooks.add([(
        0,
        LaunchHookVerdict::Deny {
            hook: "quota".into(),
            reason: "no".into(),
        },
    )]);
    let (call, requests) = round(&mut h, stream, call, &hooks)
        .expect("valid")
        .expect("the second now fits and waits for its verdict");
    assert_eq!(requests.iter().map(|r| r.index).collect::<Vec<_>>(), [1]);
    let allowed = requests[0].task.clone();
    hooks.add([(1, LaunchHookVerdict::Allow(Box::new(allowed)))]);
    assert!(
        round(&mut h, stream, call, &hooks)
            .expect("valid")
            .is_none()
    );
    h.collect();
    let commands = h.commands(agent_stream);
    let launched: Vec<&str> = commands
        .iter()
        .filter_map(|c| match c {
            AgentCommand::RunTask { task, .. } => Some(task.task_id.value.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(launched, ["second"], "{commands:?}");
    let updates = h.updates(stream);
    let refused: Vec<(&str, TaskState)> = updates
        .iter()
        .map(|s| (s.task_id.value.as_str(), s.state))
        .collect();
    assert_eq!(refused, [("first", TaskState::TaskError)]);
}

#[test]
fn a_framework_removed_while_the_hooks_run_launches_nothing() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered("cpus:2;mem:1024");
    let tasks = vec![task("t1", &agent, "cpus:0.5;mem:64")];
    let mut hooks = LaunchHooks::awaiting();
    let (call, requests) = round(&mut h, stream, accept_call(&fw, &offer, tasks), &hooks)
        .expect("valid")
        .expect("waits");
    h.core
        .remove_framework(h.now, &fw, "the framework tore down");
    h.collect();
    h.commands(agent_stream);
    let allowed = requests[0].task.clone();
    hooks.add([(0, LaunchHookVerdict::Allow(Box::new(allowed)))]);
    let error = round(&mut h, stream, call, &hooks).expect_err("the framework is gone");
    assert_eq!(error, CoreError::invalid("Framework cannot be found"));
    h.collect();
    assert!(h.commands(agent_stream).is_empty(), "nothing launches");
}

#[test]
fn without_hooks_no_task_waits() {
    let (mut h, fw, stream, agent, agent_stream, offer) = offered("cpus:2;mem:1024");
    let tasks = vec![task("t1", &agent, "cpus:0.5;mem:64")];
    let done = round(
        &mut h,
        stream,
        accept_call(&fw, &offer, tasks),
        &LaunchHooks::Off,
    );
    assert_eq!(done, Ok(None));
    h.collect();
    assert_eq!(h.commands(agent_stream).len(), 1);
}

#[test]
fn an_agent_registers_as_the_hooks_decorated_it_or_is_refused() {
    let mut h = Harness::new();
    let subscribe = agent_subscribe(None, "cpus:1;mem:512");
    let admission = h.core.admit_agent(&subscribe, None).expect("admitted");
    assert!(!admission.reregistering);
    let verdict = AgentHookVerdict::Decorate {
        resources: parse_resources("gpus:1").expect("parses"),
        attributes: vec![("zone".into(), "z9".into())],
    };
    let id = h
        .core
        .agent_subscribe_admitted(
            h.now,
            subscribe,
            admission.clone(),
            verdict,
            uuid::Uuid::new_v4(),
        )
        .expect("registers");
    assert_eq!(id, admission.id);
    let agent = h.core.agent(&id).expect("known");
    assert_eq!(agent.total.scalar("gpus"), 1.0);
    let zone = agent.info.attributes.iter().find(|a| a.name == "zone");
    assert!(
        zone.is_some_and(|a| a.kind == ValueType::Text
            && a.text.as_ref().map(|t| t.value.as_str()) == Some("z9")),
        "{:?}",
        agent.info.attributes
    );

    let subscribe = agent_subscribe(None, "cpus:1;mem:512");
    let admission = h.core.admit_agent(&subscribe, None).expect("admitted");
    let refused = h.core.agent_subscribe_admitted(
        h.now,
        subscribe,
        admission.clone(),
        AgentHookVerdict::Refuse("hook tags failed (fail-closed): trap".into()),
        uuid::Uuid::new_v4(),
    );
    assert_eq!(
        refused,
        Err(CoreError::forbidden(
            "Agent registration refused: hook tags failed (fail-closed): trap"
        ))
    );
    assert!(h.core.agent(&admission.id).is_none());
}

#[test]
fn an_agent_marked_gone_while_the_hooks_run_is_refused() {
    let mut h = Harness::new();
    let (agent, _) = h.add_agent("cpus:1;mem:512");
    let again = agent_subscribe(Some(agent.clone()), "cpus:1;mem:512");
    let admission = h.core.admit_agent(&again, None).expect("admitted");
    assert!(admission.reregistering);
    h.core.mark_agent_gone(h.now, &agent).expect("marked gone");
    let refused = h.core.agent_subscribe_admitted(
        h.now,
        again,
        admission,
        AgentHookVerdict::default(),
        uuid::Uuid::new_v4(),
    );
    assert!(
        matches!(&refused, Err(CoreError::Forbidden(m)) if m.contains("marked gone")),
        "{refused:?}"
    );
}
