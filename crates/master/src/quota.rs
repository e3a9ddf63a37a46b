//! Quota: UPDATE_QUOTA (Mesos 1.9 `quota_configs`: scalar guarantees and limits per role; a
//! config with neither clears the role's quota) and GET_QUOTA. A guarantee beyond what the
//! cluster has is allowed, as in Mesos, and reported (log, and GET_ROLES' `quota_warning`).

use std::collections::BTreeSet;

use corral_api::operator_roles::{
    GetQuota, QuotaConfig, QuotaInfo, QuotaStatus, UpdateQuotaRequest,
};
use corral_plugin_host::allocator::Quota;

use super::allocator_events::AllocatorEvent;
use super::core::MasterCore;
use super::core_error::CoreError;
use super::effects::Effect;
use super::quota_config::{allocator_quota, beyond_cluster, parse_config};
use super::registry_records;
use super::role_rules::{scalars_to_resources, validate_role};

impl MasterCore {
    /// UPDATE_QUOTA: all configs are checked before any is applied.
    pub fn update_quota(&mut self, request: UpdateQuotaRequest) -> Result<(), CoreError> {
        let mut configs = Vec::new();
        let mut seen = BTreeSet::new();
        for raw in &request.quota_configs {
            let config = parse_config(raw).map_err(CoreError::invalid)?;
            if !seen.insert(config.role.clone()) {
                return Err(CoreError::invalid(format!(
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
            writes.push(registry_records::put_quota(&config));
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
