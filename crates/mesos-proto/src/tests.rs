//! Transcoder tests. Fixtures are written from apache/mesos include/mesos/v1/mesos.proto and
//! scheduler/scheduler.proto (field numbers and enum values noted where the bytes are hand
//! written).

use base64::Engine as _;
use serde_json::json;

use super::names::{SCHEDULER_CALL, SCHEDULER_EVENT};
use super::{ProtoError, decode, encode};

fn round_trip(message: &str, value: serde_json::Value) {
    let bytes = encode(message, &value).expect("encodes");
    assert_eq!(decode(message, &bytes).expect("decodes"), value);
}

#[test]
fn an_accept_with_a_launch_round_trips() {
    round_trip(
        SCHEDULER_CALL,
        json!({
            "framework_id": {"value": "f-1"},
            "type": "ACCEPT",
            "accept": {
                "offer_ids": [{"value": "o-1"}],
                "operations": [{
                    "type": "LAUNCH",
                    "launch": {"task_infos": [{
                        "name": "sleep",
                        "task_id": {"value": "t-1"},
                        "agent_id": {"value": "a-1"},
                        "resources": [
                            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                            {"name": "ports", "type": "RANGES",
                             "ranges": {"range": [{"begin": 31000, "end": 31001}]}}
                        ],
                        "command": {"value": "sleep 1", "shell": true},
                        "kill_policy": {"grace_period": {"nanoseconds": 3_000_000_000_i64}},
                        "data": "AAEC"
                    }]}
                }],
                "filters": {"refuse_seconds": 1.5}
            }
        }),
    );
}

#[test]
fn an_update_event_round_trips_with_bytes_and_enums_by_name() {
    round_trip(
        SCHEDULER_EVENT,
        json!({
            "type": "UPDATE",
            "update": {"status": {
                "task_id": {"value": "t-1"},
                "state": "TASK_FINISHED",
                "source": "SOURCE_EXECUTOR",
                "reason": "REASON_COMMAND_EXECUTOR_FAILED",
                "agent_id": {"value": "a-1"},
                "timestamp": 1_700_000_000.25,
                "uuid": base64::engine::general_purpose::STANDARD.encode([7u8; 16])
            }}
        }),
    );
}

/// `Call { type = SUBSCRIBE (1) }`: field 2 (type), varint 1 -> bytes 0x10 0x01. The enum
/// decodes by name; a field left unset does not appear.
#[test]
fn hand_written_bytes_decode_to_mesos_json() {
    let value = decode(SCHEDULER_CALL, &[0x10, 0x01]).expect("decodes");
    assert_eq!(value, json!({"type": "SUBSCRIBE"}));
}

/// TASK_STAGING is 6 and TASK_STARTING 0 in mesos.proto: the names, not the JSON order,
/// decide the numbers.
#[test]
fn task_states_use_mesos_numbers() {
    let bytes = encode(
        "mesos.v1.TaskStatus",
        &json!({"task_id": {"value": "t"}, "state": "TASK_STAGING"}),
    )
    .expect("encodes");
    // field 1 (task_id, length 3: field 1 "t"), field 2 (state) varint 6.
    assert_eq!(bytes, vec![0x0a, 0x03, 0x0a, 0x01, b't', 0x10, 0x06]);
}

/// int64 fields are printed as JSON numbers (Mesos' jsonify), not as strings, and read back
/// from either.
#[test]
fn int64_is_a_number() {
    let bytes = encode(
        "mesos.v1.DurationInfo",
        &json!({"nanoseconds": "9007199254740993"}),
    )
    .expect("a string is read");
    assert_eq!(
        decode("mesos.v1.DurationInfo", &bytes).expect("decodes"),
        json!({"nanoseconds": 9_007_199_254_740_993_i64})
    );
}

/// A key the .proto does not name (Corral-only) is left out, not refused.
#[test]
fn unknown_json_keys_are_dropped() {
    let bytes = encode(
        "mesos.v1.FrameworkID",
        &json!({"value": "f", "corral_only": true}),
    )
    .expect("encodes");
    assert_eq!(
        decode("mesos.v1.FrameworkID", &bytes).expect("decodes"),
        json!({"value": "f"})
    );
}

#[test]
fn a_malformed_body_says_why() {
    // Field 3 (subscribe) says 16 bytes follow; only 1 does.
    let error = decode(SCHEDULER_CALL, &[0x1a, 0x10, 0x00]).expect_err("truncated");
    assert!(matches!(error, ProtoError::Decode { .. }), "{error:?}");
    assert!(
        error.to_string().contains("mesos.v1.scheduler.Call"),
        "{error}"
    );
    let unknown = decode("mesos.v1.Nothing", &[]).expect_err("no such message");
    assert!(matches!(unknown, ProtoError::UnknownMessage(_)));
}

/// An enum name this copy does not know is left out like an unknown key (prost-reflect's
/// lenient mode), so the field is absent rather than wrong.
#[test]
fn an_unknown_enum_name_is_left_out() {
    let bytes = encode(
        SCHEDULER_CALL,
        &json!({"type": "NOT_A_CALL", "framework_id": {"value": "f"}}),
    )
    .expect("encodes");
    assert_eq!(
        decode(SCHEDULER_CALL, &bytes).expect("decodes"),
        json!({"framework_id": {"value": "f"}})
    );
}

#[test]
fn every_surface_message_is_known() {
    for name in [
        SCHEDULER_CALL,
        SCHEDULER_EVENT,
        super::names::MASTER_CALL,
        super::names::MASTER_RESPONSE,
        super::names::MASTER_EVENT,
        super::names::AGENT_CALL,
        super::names::AGENT_RESPONSE,
        super::names::EXECUTOR_CALL,
        super::names::EXECUTOR_EVENT,
    ] {
        assert!(super::pool().get_message_by_name(name).is_some(), "{name}");
    }
}
