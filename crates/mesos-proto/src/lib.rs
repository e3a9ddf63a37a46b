//! Mesos' v1 API in protobuf (`application/x-protobuf`), transcoded to and from the JSON that
//! Corral's handlers speak (`corral_api`'s serde models).
//!
//! The `.proto` files under `proto/` are Corral's own copies of the wire facts of Mesos'
//! `include/mesos/v1/**.proto` (names, numbers, labels, defaults), limited to what Corral
//! carries. They are compiled at build time without `protoc` (protox) and used through
//! `prost-reflect`'s dynamic messages, whose JSON mapping is set to print what Mesos' own
//! `jsonify` prints: proto field names, enums by name, 64-bit integers as numbers, bytes as
//! base64, and only the fields that are set.
//!
//! A JSON key the .proto does not name (a Corral-only key, or a Mesos field not written here)
//! is left out of the protobuf; docs/protobuf.md lists what is not carried.

mod descriptors;
pub mod http;
pub mod media;
pub mod names;

use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};

pub use descriptors::pool;

#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("no protobuf message named '{0}' is known")]
    UnknownMessage(String),
    #[error("failed to decode a {message} protobuf: {reason}")]
    Decode { message: String, reason: String },
    #[error("cannot write this {message} as protobuf: {reason}")]
    Encode { message: String, reason: String },
}

fn descriptor(message: &str) -> Result<MessageDescriptor, ProtoError> {
    pool()
        .get_message_by_name(message)
        .ok_or_else(|| ProtoError::UnknownMessage(message.to_string()))
}

/// As Mesos' `jsonify` writes a message: proto field names, enum names, int64 as numbers,
/// only fields that are set (proto2 presence), bytes as base64.
fn serialize_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .use_enum_numbers(false)
        .skip_default_fields(true)
}

/// Keys the .proto does not name are dropped rather than refused: Corral's models may carry
/// keys of their own, and newer clients fields this copy does not write.
fn deserialize_options() -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(false)
}

/// The protobuf `bytes` of a `message_name` (e.g. `mesos.v1.scheduler.Call`) as Mesos JSON.
pub fn decode(message_name: &str, bytes: &[u8]) -> Result<serde_json::Value, ProtoError> {
    let desc = descriptor(message_name)?;
    let message = DynamicMessage::decode(desc, bytes).map_err(|e| ProtoError::Decode {
        message: message_name.to_string(),
        reason: e.to_string(),
    })?;
    message
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .map_err(|e| ProtoError::Decode {
            message: message_name.to_string(),
            reason: e.to_string(),
        })
}

/// [`decode`], as JSON text for a handler that parses a body.
pub fn decode_to_json(message_name: &str, bytes: &[u8]) -> Result<Vec<u8>, ProtoError> {
    let value = decode(message_name, bytes)?;
    serde_json::to_vec(&value).map_err(|e| ProtoError::Decode {
        message: message_name.to_string(),
        reason: e.to_string(),
    })
}

/// Mesos JSON of a `message_name` as its protobuf encoding.
pub fn encode(message_name: &str, json: &serde_json::Value) -> Result<Vec<u8>, ProtoError> {
    let desc = descriptor(message_name)?;
    let message = DynamicMessage::deserialize_with_options(desc, json, &deserialize_options())
        .map_err(|e| ProtoError::Encode {
            message: message_name.to_string(),
            reason: e.to_string(),
        })?;
    Ok(message.encode_to_vec())
}

/// [`encode`] from JSON text (a handler's response body).
pub fn encode_json(message_name: &str, json: &[u8]) -> Result<Vec<u8>, ProtoError> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| ProtoError::Encode {
            message: message_name.to_string(),
            reason: format!("the JSON is not valid: {e}"),
        })?;
    encode(message_name, &value)
}

#[cfg(test)]
mod tests;
