//! Roles: name validation (docs/roles.md), operator weights (UPDATE_WEIGHTS / GET_WEIGHTS)
//! and the per-role view of GET_ROLES.

use std::collections::{BTreeMap, BTreeSet};

use corral_api::operator_roles::{
    GetRoles, GetWeights, RoleEntry, RoleQuota, UpdateWeightsRequest, WeightInfo,
};
use corral_api::resources::{Resources, reservation_role};
use corral_api::v1::{FrameworkId, Resource, Scalar};
use corral_http::error::ApiError;

use super::allocation::AllocatorEvent;
use super::core::{Effect, MasterCore};
use super::registry;

/// Checks a role name as Mesos does: "*" alone, or `/`-separated components, none empty,
/// `.`, `..` or `*`, none starting with `-`, and no whitespace or control characters.
pub fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    let why = if role.is_empty() {
        Some("it is empty")
    } else if role.starts_with('/') || role.ends_with('/') {
        Some("it starts or ends with '/'")
    } else if role.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it contains whitespace or a control character")
    } else {
        role.split('/').find_map(|component| match component {
            "" => Some("it contains '//'"),
            "." | ".." => Some("a component is '.' or '..'"),
            "*" => Some("'*' is only valid as the whole role"),
            c if c.starts_with('-') => Some("a component starts with '-'"),
            _ => None,
        })
    };
    match why {
        Some(why) => Err(format!("Invalid role '{role}': {why}")),
        None => Ok(()),
    }
}

/// A number from a JSON request: a number, or a string holding one (proto3 JSON writes
/// "NaN" and "Infinity" as strings). Anything else is refused with `what` in the message.
pub fn number(value: &serde_json::Value, what: &str) -> Result<f64, String> {
    let parsed = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| format!("{what} must be a number, got {value}"))
}

impl MasterCore {
    pub fn weight(&self, role: &str) -> f64 {
        self.weights.get(role).copied().unwrap_or(1.0)
    }

    /// UPDATE_WEIGHTS: every entry is checked before any is applied.
    pub fn update_weights(&mut self, request: UpdateWeightsRequest) -> Result<(), ApiError> {
        let mut updates: BTreeMap<String, f64> = BTreeMap::new();
        for info in &request.weight_infos {
            let role = info.role.clone().unwrap_or_default();
            validate_role(&role).map_err(ApiError::bad_request)?;
            let what = format!("The weight of role '{role}'");
            let weight = number(&info.weight, &what).map_err(ApiError::bad_request)?;
            if !weight.is_finite() || weight <= 0.0 {
                return Err(ApiError::bad_request(format!(
                    "{what} must be a positive number, got {}",
                    info.weight
                )));
            }
            updates.insert(role, weight);
        }
        let mut writes = Vec::new();
        for (role, weight) in updates {
            tracing::info!(%role, weight, "role weight updated");
            writes.push(registry::put_weight(&role, weight));
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
            .and_then(|config| super::quota::beyond_cluster(config, total));
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

/// Scalars by name, reservations summed: `{"cpus": {"value": 2}}`.
pub fn scalar_map(resources: &Resources) -> BTreeMap<String, Scalar> {
    let mut out: BTreeMap<String, Scalar> = BTreeMap::new();
    for r in resources.iter() {
        if let Some(s) = &r.scalar {
            let entry = out.entry(r.name.clone()).or_insert(Scalar { value: 0.0 });
            entry.value = corral_api::resources::round_scalar(entry.value + s.value);
        }
    }
    out
}

/// The largest share of any scalar resource of the cluster that `held` takes.
pub fn dominant_share(held: &Resources, total: &Resources) -> f64 {
    scalar_map(held)
        .iter()
        .filter_map(|(name, s)| {
            let all = total.scalar(name);
            (all > 0.0).then(|| s.value / all)
        })
        .fold(0.0, f64::max)
}

/// Scalar resources from a name -> amount map, unreserved.
pub fn scalars_to_resources(map: &BTreeMap<String, Scalar>) -> Vec<Resource> {
    map.iter()
        .map(|(name, s)| Resource {
            name: name.clone(),
            scalar: Some(s.clone()),
            ..Default::default()
        })
        .collect()
}
