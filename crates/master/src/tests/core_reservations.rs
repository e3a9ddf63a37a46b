//! Static and dynamic reservations in the core: operator RESERVE/UNRESERVE, the offer
//! operations, what each role is offered, persistence and re-application.

use corral_api::operator_roles::ReservationRequest;
use corral_api::resources::{Resources, parse_resources};
use corral_api::scheduler::{Accept, Call, CallType, Launch, Operation, OperationType, ReserveOp};
use corral_api::v1::{
    AgentId, FrameworkInfo, Id, MasterInfo, Offer, ReservationInfo, ReservationType, Resource,
    Scalar,
};
use corral_http::error::ApiError;
use corral_state::WriteOp;

use super::super::core::MasterCore;
use super::harness::{Harness, agent_subscribe, task};

fn dynamic(name: &str, value: f64, role: &str, principal: Option<&str>) -> Resource {
    Resource {
        name: name.into(),
        scalar: Some(Scalar { value }),
        reservations: vec![ReservationInfo {
            kind: ReservationType::Dynamic,
            role: role.into(),
            principal: principal.map(String::from),
            labels: None,
        }],
        ..Default::default()
    }
}

fn request(agent: &AgentId, resources: Vec<Resource>) -> ReservationRequest {
    ReservationRequest {
        agent_id: agent.clone(),
        resources,
    }
}

fn total(h: &Harness, agent: &AgentId) -> String {
    h.core.agent(agent).expect("agent").total.summary()
}

fn in_role(name: &str, roles: &[&str]) -> FrameworkInfo {
    FrameworkInfo {
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        principal: Some("p".into()),
        ..Default::default()
    }
}

fn offered(offers: &[Offer]) -> String {
    let mut all = Resources::new();
    for offer in offers {
        all.add_all(&Resources::from_list(&offer.resources));
    }
    all.summary()
}

#[test]
fn operator_reservation_changes_the_total_is_persisted_and_offered_only_to_its_role() {
    let mut h = Harness::new();
    let (agent, _) = h.add_agent("cpus:4;mem:1024");
    h.collect();
    h.persisted();
    h.core
        .operator_reservation(
            request(&agent, vec![dynamic("cpus", 1.0, "eng", Some("ops"))]),
            true,
        )
        .expect("reserved");
    h.collect();
    assert_eq!(total(&h, &agent), "cpus:3; mem:1024; cpus(eng):1");
    let writes = h.persisted();
    let [WriteOp::Put { key, value }] = &writes[..] else {
        panic!("one write: {writes:?}");
    };
    assert_eq!(key, &format!("reservations/{agent}"));
    let stored: Vec<Resource> = serde_json::from_slice(value).expect("JSON list");
    assert_eq!(stored[0].reservations[0].principal.as_deref(), Some("ops"));

    // A framework of another role is never offered the reserved cpu.
    let (_, other) = h.subscribe_info(in_role("other", &["*"]));
    h.allocate();
    assert_eq!(offered(&h.offers(other)), "cpus:3; mem:1024");
    let (_, eng) = h.subscribe_info(in_role("eng", &["eng"]));
    h.allocate();
    let offers = h.offers(eng);
    assert_eq!(offered(&offers), "cpus(eng):1");
    assert_eq!(
        offers[0].resources[0]
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.as_deref()),
        Some("eng")
    );
    let roles = h.core.get_roles().roles;
    let role = roles.iter().find(|r| r.name == "eng").expect("eng listed");
    assert_eq!(
        Resources::from_list(&role.reserved).summary(),
        "cpus(eng):1"
    );
}

#[test]
fn bad_reservations_are_refused_and_change_nothing() {
    let mut h = Harness::new();
    let (agent, _) = h.add_agent("cpus:4;mem:1024");
    h.core
        .operator_reservation(
            request(&agent, vec![dynamic("cpus", 1.0, "eng", Some("ops"))]),
            true,
        )
        .expect("reserved");
    h.collect();
    h.persisted();
    let before = total(&h, &agent);
    let cases: Vec<(ReservationRequest, bool, u16, &str)> = vec![
        (
            request(&agent, vec![dynamic("cpus", 5.0, "eng", None)]),
            true,
            409,
            "does not have cpus:5",
        ),
        (
            request(&agent, vec![dynamic("gpus", 1.0, "eng", None)]),
            true,
            409,
            "does not have gpus:1",
        ),
        (
            request(&Id::new("nope"), vec![dynamic("cpus", 1.0, "eng", None)]),
            true,
            400,
            "No agent found with ID 'nope'",
        ),
        (
            request(&agent, vec![dynamic("cpus", 1.0, "*", None)]),
            true,
            400,
            "role '*'",
        ),
        (
            request(&agent, vec![dynamic("cpus", 1.0, "-x", None)]),
            true,
            400,
            "Invalid role '-x'",
        ),
        (
            request(&agent, parse_resources("cpus:1").expect("parses")),
            true,
            400,
            "no 'reservations'",
        ),
        (
            request(&agent, vec![dynamic("cpus", 1.0, "ops", Some("ops"))]),
            false,
            409,
            "no dynamic reservation",
        ),
        (
            request(&agent, vec![dynamic("cpus", 2.0, "eng", Some("ops"))]),
            false,
            409,
            "no dynamic reservation",
        ),
        (
            request(&agent, vec![dynamic("cpus", 1.0, "eng", Some("mallory"))]),
            false,
            409,
            "other principals: 'ops'",
        ),
    ];
    for (req, reserve, status, expect) in cases {
        let error = h
            .core
            .operator_reservation(req, reserve)
            .map_err(ApiError::from)
            .expect_err(expect);
        assert_eq!(error.status.as_u16(), status, "{}", error.message);
        assert!(error.message.contains(expect), "{}", error.message);
    }
    h.collect();
    assert!(h.persisted().is_empty());
    assert_eq!(total(&h, &agent), before);

    h.core
        .operator_reservation(
            request(&agent, vec![dynamic("cpus", 1.0, "eng", Some("ops"))]),
            false,
        )
        .expect("unreserved");
    h.collect();
    assert_eq!(total(&h, &agent), "cpus:4; mem:1024");
    assert_eq!(
        h.persisted(),
        vec![WriteOp::Delete {
            key: format!("reservations/{agent}")
        }]
    );
}

#[test]
fn static_reservations_are_offered_only_to_their_role() {
    let mut h = Harness::new();
    h.add_agent("cpus:2;mem:512;cpus(eng):1");
    let (_, star) = h.subscribe_info(in_role("star", &["*"]));
    h.allocate();
    assert_eq!(offered(&h.offers(star)), "cpus:2; mem:512");
}

#[test]
fn reservations_come_back_when_the_agent_re_registers_and_after_a_master_restart() {
    let mut h = Harness::new();
    let (agent, _) = h.add_agent("cpus:4;mem:1024");
    h.core
        .operator_reservation(
            request(&agent, vec![dynamic("mem", 512.0, "eng", None)]),
            true,
        )
        .expect("reserved");
    h.agent_subscribe(agent_subscribe(Some(agent.clone()), "cpus:4;mem:1024"));
    assert_eq!(total(&h, &agent), "cpus:4; mem:512; mem(eng):512");

    // A new master finds the reservation in the registry before the agent comes back.
    let stored = vec![(agent.clone(), vec![dynamic("mem", 512.0, "eng", None)])];
    let mut core = MasterCore::new(MasterInfo {
        id: "m2".into(),
        ..Default::default()
    });
    core.recover_reservations(stored);
    let mut info = agent_subscribe(None, "cpus:4;mem:1024").info;
    info.id = Some(agent.clone());
    core.recover_agent(0, info);
    assert_eq!(
        core.agent(&agent).expect("agent").total.summary(),
        "cpus:4; mem:512; mem(eng):512"
    );
}

fn accept_ops(h: &mut Harness, fw: &Id, stream: uuid::Uuid, offer: &Offer, ops: Vec<Operation>) {
    let mut call = Call::new(CallType::Accept, Some(fw.clone()));
    call.accept = Some(Accept {
        offer_ids: vec![offer.id.clone()],
        operations: ops,
        filters: None,
    });
    h.call(stream, call).expect("ACCEPT is accepted");
}

fn reserve_op(kind: OperationType, resources: Vec<Resource>) -> Operation {
    let op = Some(ReserveOp { resources });
    Operation {
        kind,
        launch: None,
        reserve: if kind == OperationType::Reserve {
            op.clone()
        } else {
            None
        },
        unreserve: if kind == OperationType::Unreserve {
            op
        } else {
            None
        },
        id: None,
    }
}

#[test]
fn reserve_in_an_accept_then_launch_on_it_then_unreserve() {
    let mut h = Harness::new();
    let (fw, stream) = h.subscribe_info(in_role("eng", &["eng"]));
    let (agent, agent_stream) = h.add_agent("cpus:2;mem:1024");
    h.commands(agent_stream);
    h.allocate();
    let offer = h.offers(stream).remove(0);
    let mut launch_task = task("t1", &agent, "cpus:0.5;mem:128");
    launch_task.resources = vec![
        dynamic("cpus", 0.5, "eng", Some("p")),
        parse_resources("mem:128").expect("parses").remove(0),
    ];
    accept_ops(
        &mut h,
        &fw,
        stream,
        &offer,
        vec![
            reserve_op(
                OperationType::Reserve,
                vec![dynamic("cpus", 1.0, "eng", Some("p"))],
            ),
            Operation {
                kind: OperationType::Launch,
                launch: Some(Launch {
                    task_infos: vec![launch_task],
                }),
                reserve: None,
                unreserve: None,
                id: None,
            },
        ],
    );
    assert_eq!(total(&h, &agent), "cpus:1; mem:1024; cpus(eng):1");
    assert_eq!(
        h.commands(agent_stream).len(),
        1,
        "the task runs on reserved cpus"
    );
    // GET_FRAMEWORKS: the task holds the reserved cpus, allocated to role eng.
    let entry = h.core.get_frameworks().frameworks.remove(0);
    assert_eq!(
        Resources::from_list(&entry.allocated_resources).summary(),
        "cpus(eng):0.5; mem:128"
    );
    assert!(
        entry
            .allocated_resources
            .iter()
            .all(|r| { r.allocation_info.as_ref().and_then(|a| a.role.as_deref()) == Some("eng") })
    );
    h.allocate();
    let calls = h.knobs.lock().expect("knobs").calls.clone();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("update_allocation") && c.ends_with("cpus:1 -> cpus(eng):1")),
        "{calls:?}"
    );
    h.now += 6_000; // past the ACCEPT's default 5 s filter
    h.allocate();
    let offer = h.offers(stream).remove(0);
    assert_eq!(
        offered(std::slice::from_ref(&offer)),
        "cpus:1; mem:896; cpus(eng):0.5"
    );

    // Another role or principal cannot be reserved from this framework's offers.
    accept_ops(
        &mut h,
        &fw,
        stream,
        &offer,
        vec![
            reserve_op(
                OperationType::Reserve,
                vec![dynamic("cpus", 1.0, "ops", Some("p"))],
            ),
            reserve_op(
                OperationType::Reserve,
                vec![dynamic("cpus", 1.0, "eng", Some("q"))],
            ),
        ],
    );
    assert_eq!(total(&h, &agent), "cpus:1; mem:1024; cpus(eng):1");

    h.now += 6_000;
    h.allocate();
    let offer = h.offers(stream).remove(0);
    accept_ops(
        &mut h,
        &fw,
        stream,
        &offer,
        vec![reserve_op(
            OperationType::Unreserve,
            vec![dynamic("cpus", 0.5, "eng", Some("p"))],
        )],
    );
    assert_eq!(total(&h, &agent), "cpus:1.5; mem:1024; cpus(eng):0.5");
}
