//! The allocator's view as JSON, for operators and the web UI: the shared view (frameworks
//! with their shares and filters, agents, roles with weight, quota and allocation) plus the
//! order in which DRF would consider (framework, role) now.

use serde_json::{Value, json};

use crate::Drf;
use crate::sorter::DrfOrder;

pub fn inspect(drf: &Drf) -> String {
    let cluster = &drf.cluster;
    let mut view = policy_core::inspect::common(cluster, "drf");
    let order: Vec<Value> = DrfOrder::new(cluster)
        .sequence()
        .into_iter()
        .filter_map(|(fw, role)| {
            cluster
                .framework(fw)
                .map(|f| json!({"framework_id": f.info.id, "role": cluster.roles.node(role).name}))
        })
        .collect();
    view.insert("order".into(), Value::Array(order));
    Value::Object(view).to_string()
}
