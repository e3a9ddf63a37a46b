//! Mesos' v0 JSON "models" of its messages, as the `/master/*` endpoints write them (apache/mesos
//! `src/common/http.cpp`, the `json(JSON::ObjectWriter*, ...)` overloads): resources as one
//! object of totals (`{"cpus": 1.0, "mem": 128.0, "ports": "[31000-31099]"}`), attributes as
//! an object, times as seconds. Pure functions of the v1 types, shared by the master's and
//! the agent's v0 endpoints.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::v1::{Attribute, Labels, MasterInfo, Range, Resource, Task, TaskStatus};

/// Milliseconds since the epoch as Mesos' `secs()`: seconds as a double.
pub fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// `json(writer, Resources)`: `cpus`, `gpus`, `mem` and `disk` always (0 when absent), every
/// other scalar summed, ranges as `"[a-b, c-d]"`, sets as `"{a, b}"`; a revocable resource
/// counts under `<name>_revocable`.
pub fn resources<'a>(list: impl IntoIterator<Item = &'a Resource>) -> Value {
    let mut scalars: BTreeMap<String, f64> = ["cpus", "gpus", "mem", "disk"]
        .into_iter()
        .map(|name| (name.to_string(), 0.0))
        .collect();
    let mut ranges: BTreeMap<String, Vec<Range>> = BTreeMap::new();
    let mut sets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for resource in list {
        let suffix = if resource.revocable.is_some() {
            "_revocable"
        } else {
            ""
        };
        let name = format!("{}{suffix}", resource.name);
        if let Some(scalar) = &resource.scalar {
            *scalars.entry(name).or_default() += scalar.value;
        } else if let Some(r) = &resource.ranges {
            ranges
                .entry(name)
                .or_default()
                .extend(r.range.iter().copied());
        } else if let Some(set) = &resource.set {
            sets.entry(name)
                .or_default()
                .extend(set.item.iter().cloned());
        }
    }
    let mut out = Map::new();
    for (name, value) in scalars {
        out.insert(name, json!(crate::resources::round_scalar(value)));
    }
    for (name, list) in ranges {
        out.insert(name, Value::String(ranges_text(&coalesce(list))));
    }
    for (name, mut items) in sets {
        items.sort();
        items.dedup();
        out.insert(name, Value::String(format!("{{{}}}", items.join(", "))));
    }
    Value::Object(out)
}

/// Sorted, with overlapping and adjacent ranges joined, as Mesos' range arithmetic keeps them.
fn coalesce(mut list: Vec<Range>) -> Vec<Range> {
    list.sort_by_key(|r| (r.begin, r.end));
    let mut out: Vec<Range> = Vec::with_capacity(list.len());
    for range in list {
        match out.last_mut() {
            Some(last) if range.begin <= last.end.saturating_add(1) => {
                last.end = last.end.max(range.end);
            }
            _ => out.push(range),
        }
    }
    out
}

/// Mesos' `stringify(Value::Ranges)`: `[31000-31099, 32000-32000]`.
pub fn ranges_text(ranges: &[Range]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}-{}", r.begin, r.end))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `json(writer, Attributes)`: one field per attribute, its value as a number or a string.
pub fn attributes(list: &[Attribute]) -> Value {
    let mut out = Map::new();
    for attribute in list {
        let value = if let Some(scalar) = &attribute.scalar {
            json!(scalar.value)
        } else if let Some(ranges) = &attribute.ranges {
            Value::String(ranges_text(&ranges.range))
        } else if let Some(set) = &attribute.set {
            Value::String(format!("{{{}}}", set.item.join(", ")))
        } else if let Some(text) = &attribute.text {
            Value::String(text.value.clone())
        } else {
            continue;
        };
        out.insert(attribute.name.clone(), value);
    }
    Value::Object(out)
}

/// `json(writer, Labels)`: an array of `{"key", "value"}` (the protobuf of each label).
pub fn labels(labels: &Labels) -> Value {
    serde_json::to_value(&labels.labels).unwrap_or_else(|_| json!([]))
}

/// `json(writer, TaskStatus)`: `state`, `timestamp` and, when set, `labels`,
/// `container_status` (its `container_id`, `network_infos`, `cgroup_info`) and `healthy`.
pub fn task_status(status: &TaskStatus) -> Value {
    let mut out = Map::new();
    out.insert("state".into(), json!(status.state.as_str()));
    out.insert("timestamp".into(), json!(status.timestamp.unwrap_or(0.0)));
    if let Some(l) = &status.labels {
        out.insert("labels".into(), labels(l));
    }
    if let Some(Value::Object(container)) = &status.container_status {
        let kept: Map<String, Value> = container
            .iter()
            .filter(|(key, _)| {
                matches!(
                    key.as_str(),
                    "container_id" | "network_infos" | "cgroup_info"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert("container_status".into(), Value::Object(kept));
    }
    if let Some(healthy) = status.healthy {
        out.insert("healthy".into(), json!(healthy));
    }
    Value::Object(out)
}

/// `json(writer, Task)`. `role` is the task's allocation role, used when its resources do
/// not carry `allocation_info` (Mesos reads it from the first resource).
pub fn task(task: &Task, role: &str) -> Value {
    let role = task
        .resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.clone())
        .unwrap_or_else(|| role.to_string());
    let mut out = Map::new();
    out.insert("id".into(), json!(task.task_id.value));
    out.insert("name".into(), json!(task.name));
    out.insert("framework_id".into(), json!(task.framework_id.value));
    let executor = task.executor_id.as_ref().map_or("", |e| e.value.as_str());
    out.insert("executor_id".into(), json!(executor));
    out.insert("slave_id".into(), json!(task.agent_id.value));
    out.insert("state".into(), json!(task.state.as_str()));
    out.insert("resources".into(), resources(&task.resources));
    out.insert("role".into(), json!(role));
    let statuses: Vec<Value> = task.statuses.iter().map(task_status).collect();
    out.insert("statuses".into(), Value::Array(statuses));
    if let Some(user) = &task.user {
        out.insert("user".into(), json!(user));
    }
    if let Some(l) = &task.labels {
        out.insert("labels".into(), labels(l));
    }
    if let Some(discovery) = &task.discovery {
        out.insert("discovery".into(), discovery.clone());
    }
    if let Some(container) = &task.container {
        out.insert("container".into(), container.clone());
    }
    if let Some(check) = &task.health_check {
        out.insert(
            "health_check".into(),
            serde_json::to_value(check).unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// The libprocess pid of a master: `master@IP:PORT`.
pub fn master_pid(info: &MasterInfo) -> String {
    format!("master@{}:{}", master_ip(info), info.port)
}

fn master_ip(info: &MasterInfo) -> String {
    info.address
        .as_ref()
        .and_then(|a| a.ip.clone())
        .unwrap_or_else(|| std::net::Ipv4Addr::from(info.ip.to_le_bytes()).to_string())
}

/// The libprocess pid of an agent: `slave(1)@IP:PORT` (`host`: its hostname resolved, or as
/// it is when it does not resolve).
pub fn agent_pid(host: &str, port: Option<u32>) -> String {
    format!("slave(1)@{host}:{}", port.unwrap_or(5051))
}

/// `json(writer, MasterInfo)`: `id`, `pid`, `port`, `hostname`.
pub fn master_info(info: &MasterInfo) -> Value {
    json!({
        "id": info.id,
        "pid": master_pid(info),
        "port": info.port,
        "hostname": info.hostname.clone().unwrap_or_else(|| master_ip(info)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::parse_resources;

    #[test]
    fn resources_are_totals_with_the_four_scalars_always_present() {
        // As `json(JSON::ObjectWriter*, const Resources&)` in src/common/http.cpp writes them.
        let list = parse_resources("cpus:1.5;mem:128;ports:[31000-31009,31010-31020,32000-32000]")
            .expect("resources parse");
        let value = resources(&list);
        assert_eq!(
            value,
            json!({"cpus": 1.5, "gpus": 0.0, "mem": 128.0, "disk": 0.0,
                   "ports": "[31000-31020, 32000-32000]"})
        );
    }

    #[test]
    fn master_pid_is_libprocess_form() {
        let info = MasterInfo {
            id: "m".into(),
            ip: u32::from_le_bytes([127, 0, 0, 1]),
            port: 5050,
            hostname: Some("localhost".into()),
            version: None,
            address: None,
        };
        assert_eq!(master_pid(&info), "master@127.0.0.1:5050");
        assert_eq!(master_info(&info)["pid"], "master@127.0.0.1:5050");
    }
}
