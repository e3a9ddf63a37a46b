//! Roles: operator weights (UPDATE_WEIGHTS / GET_WEIGHTS) and the per-role view of
//! GET_ROLES. Role names are checked in `role_rules.rs` (docs/roles.md).

use std::collections::{BTreeMap, BTreeSet};

use corral_api::operator_roles::{
    GetRoles, GetWeights, RoleEntry, RoleQuota, UpdateWeightsRequest, WeightInfo,
};
use corral_api::resources::{MAX_SCALAR, Resources, reservation_role};
use corral_api::v1::FrameworkId;

use super::allocator_events::AllocatorEvent;
use super::core::MasterCore;
use super::core_error::CoreError;
use super::effects::Effect;
use super::quota_config::beyond_cluster;
use super::registry_records;
use super::role_rules::{dominant_share, number, scalar_map, validate_role};

impl MasterCore {
    pub fn weight(&self, role: &str) -> f64 {
        self.weights.get(role).copied().unwrap_or(1.0)
    }

    /// UPDATE_WEIGHTS: every entry is checked before any is applied.
    pub fn update_weights(&mut self, request: UpdateWeightsRequest) -> Result<(), CoreError> {
        let mut updates: BTreeMap<String, f64> = BTreeMap::new();
        for info in &request.weight_infos {
            let role = info.role.clone().unwrap_or_default();
            validate_role(&role).map_err(CoreError::invalid)?;
            let what = format!("The weight of role '{role}'");
            let weight = number(&info.weight, &what).map_err(CoreError::invalid)?;
            if !weight.is_finite() || weight <= 0.0 || weight > MAX_SCALAR {
                return Err(CoreError::invalid(format!(
                    "{what} must be a positive number up to {MAX_SCALAR:e}, got {}",
                    info.weight
                )));
            }
            updates.insert(role, weight);
        }
        let mut writes = Vec::new();
        for (role, weight) in updates {
            tracing::info!(%role, weight, "role weight updated");
            writes.push(registry_records::put_weight(&role, weight));
            self.allocator(AllocatorEvent::SetWeight(role.clone(), weight));
            self.weights.insert(role, weight);
        }
        if !writes.is_empty() {
            self.effect(Effect::Persist(writes));
            self.request_allocation();
        }
        Ok(())
    }

    pub fn get_weights(&self) -> GetWeights {
        GetWeights {
            weight_infos: self
                .weights
                .iter()
                .map(|(role, weight)| WeightInfo {
                    weight: *weight,
                    role: Some(role.clone()),
                })
                .collect(),
        }
    }

    /// Weights from the registry at start (already validated when they were set).
    pub fn recover_weights(&mut self, weights: Vec<(String, f64)>) {
        for (role, weight) in weights {
            if validate_role(&role).is_err() || !weight.is_finite() || weight <= 0.0 {
                tracing::error!(%role, weight, "skipping an invalid weight from the registry");
                continue;
            }
            self.allocator(AllocatorEvent::SetWeight(role.clone(), weight));
            self.weights.insert(role, weight);
        }
    }

    pub(super) fn weights_for_allocator(&self) -> Vec<(String, f64)> {
        self.weights.iter().map(|(r, w)| (r.clone(), *w)).collect()
    }

    /// The cluster's total over connected agents.
    pub(super) fn cluster_total(&self) -> Resources {
        let mut total = Resources::new();
        for agent in self.agents.values().filter(|a| a.connected()) {
            total.add_all(&agent.total);
        }
        total
    }

    /// GET_ROLES: every role that has a framework, a weight, a quota, a reservation or
    /// resources allocated or offered.
    pub fn get_roles(&self) -> GetRoles {
        let mut roles: BTreeMap<String, RoleAccount> = BTreeMap::new();
        for framework in self.frameworks.values() {
            for role in framework.info.effective_roles() {
                roles
                    .entry(role)
                    .or_default()
                    .frameworks
                    .insert(framework.id());
            }
            for record in framework.tasks.values().filter(|r| !r.released) {
                let account = roles.entry(record.role.clone()).or_default();
                account.allocated.add_all(&record.resources);
            }
        }
        for offer in self.offers.values() {
            let account = roles.entry(offer.role.clone()).or_default();
            account.offered.add_all(&offer.resources);
        }
        for agent in self.agents.values().filter(|a| a.connected()) {
            for r in agent.total.iter() {
                if let Some(role) = reservation_role(r) {
                    roles.entry(role.to_string()).or_default().reserved.add(r);
                }
            }
        }
        for role in self.weights.keys().chain(self.quotas.keys()) {
            roles.entry(role.clone()).or_default();
        }
        let total = self.cluster_total();
        GetRoles {
            roles: roles
                .into_iter()
                .map(|(name, account)| self.role_entry(name, account, &total))
                .collect(),
        }
    }

    fn role_entry(&self, name: String, account: RoleAccount, total: &Resources) -> RoleEntry {
        let mut held = account.allocated.clone();
        held.add_all(&account.offered);
        let quota = self.quotas.get(&name).map(|config| RoleQuota {
            role: name.clone(),
            guarantees: config.guarantees.clone(),
            limits: config.limits.clone(),
            consumed: scalar_map(&held),
        });
        let quota_warning = self
            .quotas
            .get(&name)
            .and_then(|config| beyond_cluster(config, total));
        let allocated = account.allocated.with_allocation_role(&name);
        RoleEntry {
            weight: self.weight(&name),
            frameworks: account.frameworks.into_iter().collect(),
            resources: allocated.clone(),
            allocated,
            offered: account.offered.with_allocation_role(&name),
            reserved: account.reserved.to_vec(),
            quota,
            dominant_share: dominant_share(&held, total),
            quota_warning,
            name,
        }
    }
}

#[derive(Default)]
struct RoleAccount {
    frameworks: BTreeSet<FrameworkId>,
    allocated: Resources,
    offered: Resources,
    reserved: Resources,
}
