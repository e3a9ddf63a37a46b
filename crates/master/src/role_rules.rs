//! Role names and the values operators set per role: the checks and the arithmetic that
//! weights, quotas, reservations and GET_ROLES share (docs/roles.md).

use std::collections::BTreeMap;

use corral_api::ids::{MAX_ID_BYTES, quote};
use corral_api::resources::Resources;
use corral_api::v1::{Resource, Scalar};

/// Checks a role name as Mesos does: "*" alone, or `/`-separated components, none empty,
/// `.`, `..` or `*`, none starting with `-`, and no whitespace or control characters; and,
/// as every id from input, at most [`MAX_ID_BYTES`] bytes (the refusal quotes it shortened).
pub fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    let why = if role.is_empty() {
        Some("it is empty")
    } else if role.len() > MAX_ID_BYTES {
        Some("it is longer than 255 bytes")
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
        Some(why) => Err(format!("Invalid role '{}': {why}", quote(role))),
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
