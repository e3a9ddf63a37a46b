//! The master's calls, past the decoder: into the core of a master with one agent and one
//! framework ([`MasterWorld`]). Whatever the call, the core answers without panicking, every
//! event and command it sends parses on the other side, what it persists loads back, and
//! the state the operator API shows survives its JSON.
//!
//! Inputs may write `@agent` and `@framework` where an id is wanted: they become the world's
//! agent and framework ids, so that mutations reach past "unknown agent".

use corral_api::agent_protocol::{AgentSubscribe, StatusUpdateMessage};
use corral_api::operator::{OperatorCall, OperatorCallType};
use corral_api::operator_roles::OperatorCallPayload;
use corral_api::scheduler::{Call, CallType};
use corral_http::parse_json;
use corral_master::effects::StreamId;

use super::json_check::assert_round_trip;
use super::master_world::{MasterWorld, NOW_MS};
use super::persisted;

/// `POST /api/v1/scheduler`: a SUBSCRIBE on a new stream, any other call as the world's
/// framework on its stream.
pub fn master_scheduler(data: &[u8]) {
    let mut world = MasterWorld::new();
    let data = with_ids(&world, data);
    let Ok(mut call) = parse_json::<Call>(&data) else {
        return;
    };
    if call.kind == CallType::Subscribe {
        if let Some(subscribe) = call.subscribe.take() {
            let framework_id = call.framework_id.take();
            let stream = StreamId::new_v4();
            let _ = world
                .core
                .subscribe(NOW_MS + 1, framework_id, subscribe, stream, 15.0);
        }
    } else {
        call.framework_id = Some(world.framework_id.clone());
        let header = world.framework_stream.to_string();
        let _ = world.core.scheduler_call(NOW_MS + 1, call, Some(&header));
    }
    world.check_effects();
    check_views(&world);
}

/// `POST /api/v1` on the master: the calls that change something, then the reads.
pub fn master_operator(data: &[u8]) {
    let mut world = MasterWorld::new();
    let data = with_ids(&world, data);
    let Ok(call) = parse_json::<OperatorCall>(&data) else {
        return;
    };
    let Ok(payload) = parse_json::<OperatorCallPayload>(&data) else {
        return;
    };
    let now = NOW_MS + 1;
    let core = &mut world.core;
    let _ = match call.kind {
        OperatorCallType::UpdateWeights => payload.update_weights.map(|r| core.update_weights(r)),
        OperatorCallType::UpdateQuota => payload.update_quota.map(|r| core.update_quota(r)),
        OperatorCallType::ReserveResources => payload
            .reserve_resources
            .map(|r| core.operator_reservation(r, true)),
        OperatorCallType::UnreserveResources => payload
            .unreserve_resources
            .map(|r| core.operator_reservation(r, false)),
        OperatorCallType::MarkAgentGone => payload
            .mark_agent_gone
            .map(|m| core.mark_agent_gone(now, &m.agent_id).map(|_| ())),
        OperatorCallType::Teardown => payload
            .teardown
            .map(|t| core.operator_teardown(now, &t.framework_id)),
        OperatorCallType::KillTask => payload
            .kill_task
            .map(|k| core.operator_kill(now, k.framework_id.as_ref(), &k.task_id)),
        _ => None,
    };
    world.check_effects();
    check_views(&world);
    // A restarted master finds the quotas and weights it answers with now.
    let recovered = persisted::load_master(world.writes());
    assert_eq!(
        recovered.quotas,
        world.core.get_quota().status.configs,
        "the quotas loaded back differ from the master's"
    );
    let weights: Vec<(String, f64)> = world
        .core
        .get_weights()
        .weight_infos
        .into_iter()
        .map(|w| (w.role.unwrap_or_default(), w.weight))
        .collect();
    assert_eq!(
        recovered.weights, weights,
        "the weights loaded back differ from the master's"
    );
}

/// An agent's SUBSCRIBE on `/internal/v1/agent`, as a second agent.
pub fn master_agent_subscribe(data: &[u8]) {
    let mut world = MasterWorld::new();
    let data = with_ids(&world, data);
    let Ok(subscribe) = parse_json::<AgentSubscribe>(&data) else {
        return;
    };
    let _ = world
        .core
        .agent_subscribe(NOW_MS + 1, subscribe, StreamId::new_v4());
    world.check_effects();
    check_views(&world);
}

/// An agent's status update.
pub fn master_status_update(data: &[u8]) {
    let mut world = MasterWorld::new();
    let data = with_ids(&world, data);
    let Ok(message) = parse_json::<StatusUpdateMessage>(&data) else {
        return;
    };
    let _ = world.core.status_update(message);
    world.check_effects();
    check_views(&world);
}

/// What the operator API answers from the core survives its JSON.
fn check_views(world: &MasterWorld) {
    let core = &world.core;
    assert_round_trip("GET_STATE", &core.get_state());
    assert_round_trip("GET_AGENTS", &core.get_agents());
    assert_round_trip("GET_FRAMEWORKS", &core.get_frameworks());
    assert_round_trip("GET_ROLES", &core.get_roles());
    assert_round_trip("GET_QUOTA", &core.get_quota());
    assert_round_trip("GET_WEIGHTS", &core.get_weights());
}

/// `data` with `@agent` and `@framework` replaced by the world's ids.
fn with_ids(world: &MasterWorld, data: &[u8]) -> Vec<u8> {
    let agent = world.agent_id.value.as_bytes();
    let framework = world.framework_id.value.as_bytes();
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(&byte) = rest.first() {
        if let Some(after) = rest.strip_prefix(b"@agent") {
            out.extend_from_slice(agent);
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"@framework") {
            out.extend_from_slice(framework);
            rest = after;
        } else {
            out.push(byte);
            rest = &rest[1..];
        }
    }
    out
}
