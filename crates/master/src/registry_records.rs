//! The master's hard state as the StateStore holds it: the keys and the encoding of each
//! record. `frameworks/<id>` (FrameworkInfo JSON) and `agents/<id>` (AgentInfo JSON) say who
//! may resubscribe and re-register after a restart; beside them the operator's allocation
//! settings: `weights/<role>` (`{"weight": W}`), `quota/<role>` (QuotaConfig JSON) and
//! `reservations/<agent-id>` (the agent's dynamically reserved resources, a JSON list); and
//! the agents marked `gone/<id>` or `unreachable/<id>`. Pure functions: the core builds its
//! writes with them, `registry.rs` reads them back.

use corral_api::operator_roles::QuotaConfig;
use corral_api::v1::{AgentId, AgentInfo, FrameworkId, FrameworkInfo, Resource};
use corral_state::WriteOp;

pub const FRAMEWORKS_PREFIX: &str = "frameworks/";
pub const AGENTS_PREFIX: &str = "agents/";
pub const WEIGHTS_PREFIX: &str = "weights/";
pub const QUOTA_PREFIX: &str = "quota/";
pub const RESERVATIONS_PREFIX: &str = "reservations/";
/// Agents the operator marked gone; the value is `{}`.
pub const GONE_PREFIX: &str = "gone/";
/// Agents marked unreachable; the value is when (ms since the epoch).
pub const UNREACHABLE_PREFIX: &str = "unreachable/";
/// The principal an agent id is bound to (a JSON string), so that a restarted master keeps
/// refusing the id to anyone else.
pub const AGENT_PRINCIPALS_PREFIX: &str = "agent_principals/";

/// The value under `weights/<role>`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct StoredWeight {
    pub weight: f64,
}

pub fn put_weight(role: &str, weight: f64) -> WriteOp {
    WriteOp::Put {
        key: format!("{WEIGHTS_PREFIX}{role}"),
        value: serde_json::to_vec(&StoredWeight { weight }).unwrap_or_default(),
    }
}

/// A cleared quota is deleted.
pub fn put_quota(config: &QuotaConfig) -> WriteOp {
    let key = format!("{QUOTA_PREFIX}{}", config.role);
    if config.guarantees.is_empty() && config.limits.is_empty() {
        return WriteOp::Delete { key };
    }
    WriteOp::Put {
        key,
        value: serde_json::to_vec(config).unwrap_or_default(),
    }
}

/// An agent without dynamic reservations has no key.
pub fn put_reservations(agent_id: &AgentId, reserved: &[Resource]) -> WriteOp {
    let key = format!("{RESERVATIONS_PREFIX}{agent_id}");
    if reserved.is_empty() {
        return WriteOp::Delete { key };
    }
    WriteOp::Put {
        key,
        value: serde_json::to_vec(reserved).unwrap_or_default(),
    }
}

pub fn put_framework(info: &FrameworkInfo) -> WriteOp {
    let id = info.id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
    WriteOp::Put {
        key: format!("{FRAMEWORKS_PREFIX}{id}"),
        // Serializing these plain structs cannot fail; an empty value would be skipped on load.
        value: serde_json::to_vec(info).unwrap_or_default(),
    }
}

pub fn put_agent(info: &AgentInfo) -> WriteOp {
    let id = info.id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
    WriteOp::Put {
        key: format!("{AGENTS_PREFIX}{id}"),
        value: serde_json::to_vec(info).unwrap_or_default(),
    }
}

pub fn put_agent_principal(agent_id: &AgentId, principal: &str) -> WriteOp {
    WriteOp::Put {
        key: format!("{AGENT_PRINCIPALS_PREFIX}{agent_id}"),
        value: serde_json::to_vec(principal).unwrap_or_default(),
    }
}

pub fn delete_framework(id: &FrameworkId) -> WriteOp {
    WriteOp::Delete {
        key: format!("{FRAMEWORKS_PREFIX}{id}"),
    }
}
