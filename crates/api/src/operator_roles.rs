//! Operator API messages for roles, weights, quota and reservations
//! (include/mesos/v1/master/master.proto and the `Role`, `WeightInfo`, `QuotaConfig` and
//! `QuotaInfo` messages of include/mesos/v1/mesos.proto and quota/quota.proto).
//!
//! Request payloads keep numbers as raw JSON values so a bad value ("abc", -1, "NaN") is
//! refused with the role and the value named, instead of a bare serde error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::v1::{AgentId, FrameworkId, Resource, Scalar};

/// The payload fields of an operator call, next to its `type` (parsed from the same body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OperatorCallPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_weights: Option<UpdateWeightsRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_quota: Option<UpdateQuotaRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_resources: Option<ReservationRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreserve_resources: Option<ReservationRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_agent_gone: Option<MarkAgentGone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<super::operator_actions::Teardown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_task: Option<super::operator_actions::KillTask>,
}

/// `MARK_AGENT_GONE`'s payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MarkAgentGone {
    pub agent_id: AgentId,
}

/// `WeightInfo` as sent: `weight` is checked by the master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WeightInfoRequest {
    #[serde(default)]
    pub weight: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UpdateWeightsRequest {
    #[serde(default)]
    pub weight_infos: Vec<WeightInfoRequest>,
}

/// `WeightInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WeightInfo {
    pub weight: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetWeights {
    #[serde(default)]
    pub weight_infos: Vec<WeightInfo>,
}

/// `QuotaConfig` as sent: each map value should be a `Value.Scalar` (`{"value": 2}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QuotaConfigRequest {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub guarantees: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub limits: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UpdateQuotaRequest {
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub quota_configs: Vec<QuotaConfigRequest>,
}

/// `QuotaConfig`: scalar guarantees and limits by resource name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QuotaConfig {
    pub role: String,
    #[serde(default)]
    pub guarantees: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub limits: BTreeMap<String, Scalar>,
}

/// `QuotaInfo` (the pre-1.9 form, still answered in `status.infos`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QuotaInfo {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default)]
    pub guarantee: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QuotaStatus {
    #[serde(default)]
    pub infos: Vec<QuotaInfo>,
    #[serde(default)]
    pub configs: Vec<QuotaConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetQuota {
    pub status: QuotaStatus,
}

/// `RESERVE_RESOURCES` and `UNRESERVE_RESOURCES`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReservationRequest {
    #[serde(default)]
    pub agent_id: AgentId,
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// `Role.Quota`: a role's quota and what it consumes now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RoleQuota {
    pub role: String,
    #[serde(default)]
    pub guarantees: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub limits: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub consumed: BTreeMap<String, Scalar>,
}

/// `Role`, plus Corral's dominant share and a note when its quota cannot be met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RoleEntry {
    pub name: String,
    pub weight: f64,
    #[serde(default)]
    pub frameworks: Vec<FrameworkId>,
    /// Allocated resources (the field Mesos kept for old clients).
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default)]
    pub allocated: Vec<Resource>,
    #[serde(default)]
    pub offered: Vec<Resource>,
    #[serde(default)]
    pub reserved: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<RoleQuota>,
    /// Largest share of any resource the role holds (allocated and offered) in the cluster.
    #[serde(default)]
    pub dominant_share: f64,
    /// Set when the quota's guarantee is more than the cluster has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetRoles {
    #[serde(default)]
    pub roles: Vec<RoleEntry>,
}
