//! The allocator's view as JSON, for operators and the web UI.

use corral_sdk::resources::Resources;
use corral_sdk::types::ResourceValue;
use serde_json::{Map, Value, json};

use crate::Drf;
use crate::sorter;

/// `{"cpus": 2.0, "ports": "[31000-31009]", "cpus(web)": 1.0}`: one key per resource, with
/// the reservation in parentheses (as Mesos writes resources) when there is one.
pub fn summary(resources: &Resources) -> Value {
    let mut map = Map::new();
    for resource in resources {
        let mut key = resource.name.clone();
        if let Some(role) = &resource.reservation {
            key = format!("{key}({role})");
        }
        if resource.revocable {
            key.push_str("{REV}");
        }
        let value = match &resource.value {
            ResourceValue::Scalar(v) => json!(v),
            ResourceValue::Ranges(ranges) => {
                let parts: Vec<String> = ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.begin, r.end))
                    .collect();
                json!(format!("[{}]", parts.join(", ")))
            }
            ResourceValue::Set(items) => json!(format!("{{{}}}", items.join(", "))),
        };
        map.insert(key, value);
    }
    Value::Object(map)
}

pub fn inspect(drf: &Drf) -> String {
    let totals = drf.cluster_totals();
    let held = drf.held_by_framework();
    let frameworks: Vec<Value> = drf
        .frameworks
        .values()
        .map(|fw| {
            let mine = held.get(&fw.info.id).cloned().unwrap_or_default();
            let filters: Vec<Value> = fw
                .filters
                .iter()
                .map(|f| json!({"agent_id": f.agent_id, "until": f.until, "resources": summary(&f.resources)}))
                .collect();
            json!({
                "id": fw.info.id,
                "name": fw.info.name,
                "roles": fw.info.roles,
                "active": fw.active,
                "suppressed_roles": fw.suppressed,
                "dominant_share": sorter::dominant_share(&mine, &totals),
                "shares": sorter::shares(&mine, &totals),
                "allocated": summary(&mine),
                "filters": filters,
            })
        })
        .collect();
    let agents: Vec<Value> = drf
        .agents
        .values()
        .map(|agent| {
            json!({
                "id": agent.info.id,
                "hostname": agent.info.hostname,
                "total": summary(&agent.total),
                "available": summary(&agent.available()),
            })
        })
        .collect();
    let quotas: Map<String, Value> = drf
        .quotas
        .iter()
        .map(|(role, quota)| {
            (
                role.clone(),
                json!({
                    "guarantees": summary(&Resources::from_list(&quota.guarantees)),
                    "limits": summary(&Resources::from_list(&quota.limits)),
                }),
            )
        })
        .collect();
    json!({
        "policy": "drf",
        "cluster_total": summary(&totals),
        "frameworks": frameworks,
        "agents": agents,
        "weights": drf.weights,
        "quotas": quotas,
    })
    .to_string()
}
