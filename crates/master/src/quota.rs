//! Quota: UPDATE_QUOTA (Mesos 1.9 `quota_configs`: scalar guarantees and limits per role; a
//! config with neither clears the role's quota) and GET_QUOTA. A guarantee beyond what the
//! cluster has is allowed, as in Mesos, and reported (log, and GET_ROLES' `quota_warning`).

use std::collections::{BTreeMap, BTreeSet};

use corral_api::operator_roles::{
    GetQuota, QuotaConfig, QuotaConfigRequest, QuotaInfo, QuotaStatus, UpdateQuotaRequest,
};
use corral_api::resources::{Resources, round_scalar};
use corral_api::v1::Scalar;
use corral_http::error::ApiError;
use corral_plugin_host::allocator::Quota;

use super::allocation::AllocatorEvent;
use super::core::{Effect, MasterCore};
use super::registry;
use super::roles::{number, scalars_to_resources, validate_role};

/// Checks one config and turns its raw values into scalars.
pub fn parse_config(request: &QuotaConfigRequest) -> Result<QuotaConfig, String> {
    let role = &request.role;
    validate_role(role)?;
    if role == "*" {
        return Err("Quota cannot be set for the default role '*'".into());
    }
    let guarantees = parse_amounts(role, "guarantee", &request.guarantees)?;
    let limits = parse_amounts(role, "limit", &request.limits)?;
    for (name, guarantee) in &guarantees {
        if let Some(limit) = limits.get(name)
            && guarantee.value > limit.value
        {
            return Err(format!(
                "The {name} guarantee of role '{role}' ({}) is above its limit ({})",
                guarantee.value, limit.value
            ));
        }
    }
    Ok(QuotaConfig {
        role: role.clone(),
        guarantees,
        limits,
    })
}

fn parse_amounts(
    role: &str,
    kind: &str,
    raw: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, Scalar>, String> {
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        if name.trim().is_empty() {
            return Err(format!(
                "A {kind} of role '{role}' has an empty resource name"
            ));
        }
        // `Value.Scalar` is `{"value": N}`; a bare number is accepted too.
        let inner = value.get("value").unwrap_or(value);
        let what = format!("The {name} {kind} of role '{role}'");
        let amount = number(inner, &what)?;
        if !amount.is_finite() || amount < 0.0 {
            return Err(format!("{what} must be a finite number >= 0, got {inner}"));
        }
        out.insert(
            name.clone(),
            Scalar {
                value: round_scalar(amount),
            },
        );
    }
    Ok(out)
}

/// A note when the guarantee asks for more of a resource than the cluster has.
pub fn beyond_cluster(config: &QuotaConfig, total: &Resources) -> Option<String> {
    let short: Vec<String> = config
        .guarantees
        .iter()
        .filter(|(name, s)| s.value > total.scalar(name))
        .map(|(name, s)| format!("{name} {} > {}", s.value, total.scalar(name)))
        .collect();
    (!short.is_empty()).then(|| {
        format!(
            "the guarantee is more than the cluster has: {}",
            short.join(", ")
        )
    })
}

fn allocator_quota(config: &QuotaConfig) -> Quota {
    Quota {
        role: config.role.clone(),
        guarantees: scalars_to_resources(&config.guarantees),
        limits: scalars_to_resources(&config.limits),
    }
}

impl MasterCore {
    /// UPDATE_QUOTA: all configs are checked before any is applied.
    pub fn update_quota(&mut self, request: UpdateQuotaRequest) -> Result<(), ApiError> {
        let mut configs = Vec::new();
        let mut seen = BTreeSet::new();
        for raw in &request.quota_configs {
            let config = parse_config(raw).map_err(ApiError::bad_request)?;
            if !seen.insert(config.role.clone()) {
                return Err(ApiError::bad_request(format!(
                    "Role '{}' appears more than once in the call",
                    config.role
                )));
            }
            configs.push(config);
        }
        let total = self.cluster_total();
        let mut writes = Vec::new();
        for config in configs {
            if let Some(warning) = beyond_cluster(&config, &total)
                && !request.force
            {
                tracing::warn!(role = %config.role, %warning, "quota set beyond the cluster's total");
            }
            tracing::info!(role = %config.role, ?config.guarantees, ?config.limits, "quota updated");
            writes.push(registry::put_quota(&config));
            self.allocator(AllocatorEvent::SetQuota(allocator_quota(&config)));
            if config.guarantees.is_empty() && config.limits.is_empty() {
                self.quotas.remove(&config.role);
            } else {
                self.quotas.insert(config.role.clone(), config);
            }
        }
        if !writes.is_empty() {
            self.effect(Effect::Persist(writes));
            self.request_allocation();
        }
        Ok(())
    }

    pub fn get_quota(&self) -> GetQuota {
        GetQuota {
            status: QuotaStatus {
                infos: self
                    .quotas
                    .values()
                    .map(|c| QuotaInfo {
                        role: c.role.clone(),
                        principal: None,
                        guarantee: scalars_to_resources(&c.guarantees),
                    })
                    .collect(),
                configs: self.quotas.values().cloned().collect(),
            },
        }
    }

    /// Quotas from the registry at start.
    pub fn recover_quotas(&mut self, quotas: Vec<QuotaConfig>) {
        for config in quotas {
            if validate_role(&config.role).is_err() {
                tracing::error!(role = %config.role, "skipping a quota with an invalid role");
                continue;
            }
            self.allocator(AllocatorEvent::SetQuota(allocator_quota(&config)));
            self.quotas.insert(config.role.clone(), config);
        }
    }

    pub(super) fn quotas_for_allocator(&self) -> Vec<Quota> {
        self.quotas.values().map(allocator_quota).collect()
    }
}
