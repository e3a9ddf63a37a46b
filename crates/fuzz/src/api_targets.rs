//! The v1 JSON decoders (`corral_api`): each body type a server parses with
//! `corral_http::parse_json`, and the events and commands clients and agents parse. The
//! invariant: a decoded value encodes and decodes back to itself.

use corral_api::agent_protocol::{
    AgentCommand, AgentPluginReport, AgentSubscribe, ExecutorMessage, StatusUpdateMessage,
};
use corral_api::operator::{OperatorCall, OperatorResponse};
use corral_api::operator_roles::OperatorCallPayload;
use corral_api::{executor, scheduler};

use super::json_check::decode_round_trip;

/// `POST /api/v1/scheduler`.
pub fn scheduler_call(data: &[u8]) {
    decode_round_trip::<scheduler::Call>("a scheduler Call", data);
}

/// A record of the scheduler event stream, as `corral_client` and the services framework
/// read it.
pub fn scheduler_event(data: &[u8]) {
    decode_round_trip::<scheduler::Event>("a scheduler Event", data);
}

/// `POST /api/v1` (master and agent): the type, then the payload from the same body, and the
/// response type the operator client parses.
pub fn operator_call(data: &[u8]) {
    decode_round_trip::<OperatorCall>("an operator Call", data);
    decode_round_trip::<OperatorCallPayload>("an operator call's payload", data);
    decode_round_trip::<OperatorResponse>("an operator Response", data);
}

/// `POST /api/v1/executor` on the agent.
pub fn executor_call(data: &[u8]) {
    decode_round_trip::<executor::Call>("an executor Call", data);
}

/// A record of the executor event stream, as an HTTP executor reads it.
pub fn executor_event(data: &[u8]) {
    decode_round_trip::<executor::Event>("an executor Event", data);
}

/// The agent's SUBSCRIBE on `/internal/v1/agent` (the master's side).
pub fn agent_subscribe(data: &[u8]) {
    decode_round_trip::<AgentSubscribe>("an AgentSubscribe", data);
}

/// A record of the master's stream to an agent (the agent's side).
pub fn agent_command(data: &[u8]) {
    decode_round_trip::<AgentCommand>("an AgentCommand", data);
}

/// An agent's status update to the master.
pub fn status_update(data: &[u8]) {
    decode_round_trip::<StatusUpdateMessage>("a StatusUpdateMessage", data);
}

/// An executor's message to its framework, relayed by the agent.
pub fn executor_message(data: &[u8]) {
    decode_round_trip::<ExecutorMessage>("an ExecutorMessage", data);
}

/// An agent's report of its plugins.
pub fn plugin_report(data: &[u8]) {
    decode_round_trip::<AgentPluginReport>("an AgentPluginReport", data);
}
