//! Wire formats: the Mesos v1 JSON types (field names from include/mesos/v1/*.proto), the
//! scheduler and operator call/event envelopes, Mesos' v0 JSON models (`v0`), RecordIO
//! framing, the master<->agent protocol, and the resource algebra (`resources`).

pub mod agent_protocol;
mod agent_scheme;
pub mod executor;
pub mod ids;
pub mod operator;
pub mod operator_actions;
pub mod operator_events;
pub mod operator_roles;
pub mod recordio;
pub mod resources;
pub mod scheduler;
pub mod v0;
pub mod v1;

/// The version reported by `GET /version` and the operator API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
