//! The v1 API in protobuf (`corral_mesos_proto`): a body sent as `application/x-protobuf` is
//! decoded as each surface's `Call` and handed on as JSON. The invariant: what decodes,
//! encodes again, and the encoding decodes to the same JSON; the JSON is what the handler
//! parses next (its parse may refuse it, never panic).

use corral_api::operator::OperatorCall;
use corral_api::{executor, scheduler};
use corral_mesos_proto::names::{AGENT_CALL, EXECUTOR_CALL, MASTER_CALL, SCHEDULER_CALL};

/// `POST /api/v1/scheduler`, `/api/v1` (master and agent) and `/api/v1/executor` bodies.
pub fn protobuf_call(data: &[u8]) {
    for message in [SCHEDULER_CALL, MASTER_CALL, AGENT_CALL, EXECUTOR_CALL] {
        let Ok(json) = corral_mesos_proto::decode(message, data) else {
            continue;
        };
        let encoded = corral_mesos_proto::encode(message, &json)
            .unwrap_or_else(|e| panic!("{message} decoded but does not encode: {e}: {json}"));
        let again = corral_mesos_proto::decode(message, &encoded)
            .unwrap_or_else(|e| panic!("{message} re-encoded does not decode: {e}: {json}"));
        assert_eq!(json, again, "{message} changed through protobuf");
        let _ = match message {
            SCHEDULER_CALL => serde_json::from_value::<scheduler::Call>(json).map(drop),
            EXECUTOR_CALL => serde_json::from_value::<executor::Call>(json).map(drop),
            _ => serde_json::from_value::<OperatorCall>(json).map(drop),
        };
    }
}
