//! The parts of `inspect()` every policy shares: resources as Mesos writes them, frameworks,
//! agents and roles.

use corral_sdk::resources::Resources;
use corral_sdk::types::ResourceValue;
use serde_json::{Map, Value, json};

use crate::cluster::Cluster;
use crate::roles::RoleTree;

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

/// `policy`, `cluster_total`, `frameworks`, `agents`, `roles`, `weights`, `quotas`.
pub fn common(cluster: &Cluster, policy: &str) -> Map<String, Value> {
    let totals = &cluster.totals;
    let held = cluster.held_by_framework();
    let frameworks: Vec<Value> = cluster
        .framework_order
        .values()
        .filter_map(|ix| cluster.framework(*ix).map(|fw| (ix, fw)))
        .map(|(ix, fw)| {
            let mine = held.get(ix).cloned().unwrap_or_default();
            let held_total = fw.held_total();
            let shares: Map<String, Value> = crate::scalars::FAIR
                .iter()
                .filter(|id| totals.get(**id) > 0.0)
                .map(|id| {
                    (
                        cluster.names.name(*id).to_string(),
                        json!(held_total.get(*id) / totals.get(*id)),
                    )
                })
                .collect();
            let mut filters: Vec<(String, u64, Value)> = fw
                .filters
                .iter()
                .map(|(agent, f)| {
                    let agent_id = cluster.agent(agent).map(|a| a.id.clone()).unwrap_or_default();
                    (agent_id, f.until, summary(&f.resources))
                })
                .collect();
            filters.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            let filters: Vec<Value> = filters
                .into_iter()
                .map(|(agent_id, until, resources)| {
                    json!({"agent_id": agent_id, "until": until, "resources": resources})
                })
                .collect();
            json!({
                "id": fw.info.id,
                "name": fw.info.name,
                "roles": fw.roles.iter().map(|r| cluster.roles.node(*r).name.clone()).collect::<Vec<_>>(),
                "active": fw.active,
                "suppressed_roles": fw.suppressed,
                "dominant_share": held_total.dominant_share(totals),
                "shares": shares,
                "allocated": summary(&mine),
                "filters": filters,
            })
        })
        .collect();
    let agents: Vec<Value> = cluster
        .agent_order
        .values()
        .filter_map(|ix| cluster.agent(*ix))
        .map(|agent| {
            json!({
                "id": agent.id,
                "hostname": agent.hostname,
                "total": summary(&agent.total),
                "available": summary(&agent.free),
            })
        })
        .collect();
    let roles: Map<String, Value> = cluster
        .roles
        .nodes()
        .map(|(_, node)| {
            (
                node.name.clone(),
                json!({
                    "weight": node.weight,
                    "allocated": RoleTree::named(&cluster.names, &node.subtree),
                    "dominant_share": node.subtree.dominant_share(totals),
                    "guarantees": RoleTree::named(&cluster.names, &node.guarantees),
                    "limits": RoleTree::named(&cluster.names, &node.limits),
                }),
            )
        })
        .collect();
    let quotas: Map<String, Value> = cluster
        .roles
        .quota_roles
        .iter()
        .map(|r| {
            let node = cluster.roles.node(*r);
            (
                node.name.clone(),
                json!({
                    "guarantees": RoleTree::named(&cluster.names, &node.guarantees),
                    "limits": RoleTree::named(&cluster.names, &node.limits),
                }),
            )
        })
        .collect();
    let mut map = Map::new();
    map.insert("policy".into(), json!(policy));
    map.insert("cluster_total".into(), summary(&cluster.total_resources()));
    map.insert("frameworks".into(), Value::Array(frameworks));
    map.insert("agents".into(), Value::Array(agents));
    map.insert("roles".into(), Value::Object(roles));
    map.insert("weights".into(), json!(cluster.roles.weights()));
    map.insert("quotas".into(), Value::Object(quotas));
    map
}
