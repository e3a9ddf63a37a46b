//! How fragmented the free resources are, for `inspect()`: per resource (cpus, mem), the
//! free total, the largest free block on one agent, `fragmentation` = 1 - largest / total
//! (0 when everything free is on one agent or nothing is free), and `stranded`: the share of
//! the free amount on agents whose free resources are below `min_allocatable` (slivers that
//! no offer will carry).

use policy_core::Cluster;
use serde_json::{Map, Value, json};

pub fn report(cluster: &Cluster) -> Value {
    let agents: Vec<_> = cluster.agents.iter().flatten().collect();
    let mut map = Map::new();
    for name in ["cpus", "mem"] {
        let mut free = 0.0;
        let mut largest: f64 = 0.0;
        let mut stranded = 0.0;
        for agent in &agents {
            let here = agent.free.scalar(name);
            free += here;
            largest = largest.max(here);
            if !cluster.options.allocatable(&agent.free) {
                stranded += here;
            }
        }
        let ratio = |x: f64| if free > 0.0 { x / free } else { 0.0 };
        map.insert(
            name.to_string(),
            json!({
                "free": free,
                "largest_free_block": largest,
                "fragmentation": policy_core::scalars::round(if free > 0.0 { 1.0 - largest / free } else { 0.0 }),
                "stranded": policy_core::scalars::round(ratio(stranded)),
            }),
        );
    }
    let used = agents.iter().filter(|a| !a.held.is_empty()).count();
    map.insert("agents_used".into(), json!(used));
    map.insert("agents_empty".into(), json!(agents.len() - used));
    Value::Object(map)
}
