//! Quota configs as the operator sends them (Mesos 1.9 `quota_configs`): their checks, how
//! they compare with the cluster's total, and the form the allocator takes them in.

use std::collections::BTreeMap;

use corral_api::operator_roles::{QuotaConfig, QuotaConfigRequest};
use corral_api::resources::{MAX_SCALAR, Resources, round_scalar};
use corral_api::v1::Scalar;
use corral_plugin_host::allocator::Quota;

use super::role_rules::{number, scalars_to_resources, validate_role};

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
        if !amount.is_finite() || !(0.0..=MAX_SCALAR).contains(&amount) {
            return Err(format!(
                "{what} must be a number from 0 to {MAX_SCALAR:e}, got {inner}"
            ));
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

pub fn allocator_quota(config: &QuotaConfig) -> Quota {
    Quota {
        role: config.role.clone(),
        guarantees: scalars_to_resources(&config.guarantees),
        limits: scalars_to_resources(&config.limits),
    }
}
