//! Builds the record set from the cluster view, name for name as Mesos-DNS's
//! `records/generator.go` (`InsertState`): frameworks, agents, the DNS server itself,
//! masters, then every TASK_RUNNING task:
//!
//! - `<task>.<framework>.<domain>` and `<task>-<hash>-<agent>.<framework>.<domain>`: A, the
//!   task's IP (its container's, else its agent's);
//! - the same under `.slave.<domain>`: A, the agent's IP;
//! - `_<task>._tcp|_udp.<framework>[.slave].<domain>`: SRV for each port resource, to
//!   `<task>-<hash>-<agent>.<framework>.slave.<domain>` (with DiscoveryInfo, only under
//!   `.slave`, and its ports under `_<task>._<protocol>.<framework>.<domain>`, also with
//!   `_<port name>.` in front, to the canonical name outside `.slave`);
//! - `<framework>.<domain>`: A, its scheduler's host; `slave.<domain>` (and Corral's
//!   `agent.<domain>`): every agent; `leader.<domain>`, `master.<domain>`, `masterN.<domain>`.

use std::net::Ipv4Addr;

use serde_json::Value;

use corral_api::v1::{Task, TaskState};

use super::labels::{agent_id_tail, domain_frag, label, task_id_hash};
use super::records::{EnumerableFramework, EnumerableRecord, EnumerableTask, RecordSet, SrvTarget};
use super::view::ClusterView;

/// What the names depend on besides the cluster.
#[derive(Debug, Clone)]
pub struct NamingConfig {
    /// The domain, without dots around it (`mesos`).
    pub domain: String,
    /// The configured masters, `host:port`, in their `masterN` order.
    pub masters: Vec<String>,
    /// The leading master, `host:port` (the one the stream comes from).
    pub leader: Option<String>,
    /// The DNS server's own name (SOA MNAME, fully qualified) and address.
    pub ns_name: String,
    pub ns_ip: Option<Ipv4Addr>,
}

/// The key of the container's IP in a status label (Mesos-DNS's "mesos" IP source).
const MESOS_IP_LABEL: &str = "MesosContainerizer.NetworkSettings.IPAddress";

/// Splits `host:port` (Mesos-DNS's `getProto`).
fn host_port(address: &str) -> Option<(&str, &str)> {
    address.split_once(':')
}

pub fn generate(view: &ClusterView, config: &NamingConfig) -> RecordSet {
    let mut records = RecordSet::default();
    let tail = format!(".{}.", config.domain);
    framework_records(&mut records, view, &tail);
    agent_records(&mut records, view, &tail);
    if let Some(ip) = config.ns_ip {
        records.insert_a(config.ns_name.clone(), ip);
    }
    master_records(&mut records, view, config, &tail);
    task_records(&mut records, view, &tail);
    records
}

fn framework_records(records: &mut RecordSet, view: &ClusterView, tail: &str) {
    for framework in view.frameworks.values().filter(|f| f.connected) {
        let name = domain_frag(&framework.name);
        let ip = framework.hostname.as_deref().and_then(|h| view.host_ip(h));
        if let (false, Some(ip)) = (name.is_empty(), ip) {
            records.insert_a(format!("{name}{tail}"), ip);
        }
    }
}

fn agent_records(records: &mut RecordSet, view: &ClusterView, tail: &str) {
    for agent in view.agents.values() {
        let Some(ip) = view.host_ip(&agent.hostname) else {
            continue;
        };
        for kind in ["slave", "agent"] {
            let name = format!("{kind}{tail}");
            records.insert_a(name.clone(), ip);
            if let Some(port) = agent.port.and_then(|p| u16::try_from(p).ok()) {
                let srv = SrvTarget { host: name, port };
                records.insert_srv(format!("_{kind}._tcp{tail}"), srv);
            }
        }
    }
}

fn master_records(records: &mut RecordSet, view: &ClusterView, config: &NamingConfig, tail: &str) {
    let Some(leader) = config.leader.as_deref() else {
        return;
    };
    let Some((leader_host, leader_port)) = host_port(leader) else {
        return;
    };
    let Some(leader_ip) = view.host_ip(leader_host) else {
        return;
    };
    let all = format!("master{tail}");
    records.insert_a(format!("leader{tail}"), leader_ip);
    records.insert_a(all.clone(), leader_ip);
    if let Ok(port) = leader_port.parse::<u16>() {
        for protocol in ["_tcp", "_udp"] {
            let target = SrvTarget {
                host: format!("leader{tail}"),
                port,
            };
            records.insert_srv(format!("_leader.{protocol}{tail}"), target);
        }
    }
    let mut leader_listed = false;
    let mut index = 0;
    for master in &config.masters {
        let Some(ip) = host_port(master).and_then(|(host, _)| view.host_ip(host)) else {
            continue;
        };
        let is_leader = master == leader;
        if !is_leader && !records.insert_a(all.clone(), ip) {
            continue; // the same master twice
        }
        if is_leader && leader_listed {
            continue;
        }
        records.insert_a(format!("master{index}{tail}"), ip);
        index += 1;
        leader_listed |= is_leader;
    }
    if !leader_listed {
        records.insert_a(format!("master{index}{tail}"), leader_ip);
    }
}

fn task_records(records: &mut RecordSet, view: &ClusterView, tail: &str) {
    let mut frameworks: Vec<(&String, &super::view::FrameworkView)> =
        view.frameworks.iter().collect();
    frameworks.sort_by(|a, b| a.0.cmp(b.0));
    let mut tasks: Vec<&Task> = view
        .tasks
        .values()
        .filter(|t| t.state == TaskState::TaskRunning)
        .collect();
    tasks.sort_by(|a, b| {
        (&a.framework_id.value, &a.task_id.value).cmp(&(&b.framework_id.value, &b.task_id.value))
    });
    for (framework_id, framework) in frameworks {
        let mut enumerable = EnumerableFramework {
            tasks: Vec::new(),
            name: framework.name.clone(),
        };
        let fname = domain_frag(&framework.name);
        let first = tasks.partition_point(|t| t.framework_id.value < *framework_id);
        for task in tasks[first..]
            .iter()
            .take_while(|t| &t.framework_id.value == framework_id)
        {
            let Some(agent) = view.agents.get(&task.agent_id.value) else {
                continue; // Mesos-DNS names only tasks on agents it knows
            };
            let agent_ip = view.host_ip(&agent.hostname);
            let mut out = EnumerableTask {
                name: task.name.clone(),
                id: task.task_id.value.clone(),
                records: Vec::new(),
            };
            let context = TaskContext {
                name: task_label(task),
                hash: task_id_hash(&task.task_id.value),
                agent: agent_id_tail(&task.agent_id.value),
                task_ip: task_ip(task).or(agent_ip),
                agent_ip,
            };
            task_context_records(records, &context, task, &fname, tail, &mut out);
            enumerable.tasks.push(out);
        }
        records.enumeration.frameworks.push(enumerable);
    }
}

/// A task's name in DNS (`<task>.<framework>.<domain>`, no trailing dot), as `corral tasks`
/// shows it: it resolves while the task runs.
pub fn task_dns_name(task: &Task, framework_name: &str, domain: &str) -> String {
    let framework = domain_frag(framework_name);
    let domain = domain.trim_matches('.');
    format!("{}.{framework}.{domain}", task_label(task))
}

/// The task's label: its DiscoveryInfo name when it has one, else its name (the task id when
/// it has neither, where Mesos-DNS would make an empty label).
fn task_label(task: &Task) -> String {
    let name = discovery_name(task).unwrap_or(&task.name);
    let label = label(name);
    if label.is_empty() {
        super::labels::label(&task.task_id.value)
    } else {
        label
    }
}

fn discovery_name(task: &Task) -> Option<&str> {
    task.discovery
        .as_ref()
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
}

struct TaskContext {
    name: String,
    hash: String,
    agent: String,
    task_ip: Option<Ipv4Addr>,
    agent_ip: Option<Ipv4Addr>,
}

fn insert_task_a(
    records: &mut RecordSet,
    out: &mut EnumerableTask,
    name: String,
    ip: Option<Ipv4Addr>,
) {
    if let Some(ip) = ip
        && records.insert_a(name.clone(), ip)
    {
        out.records.push(EnumerableRecord {
            name,
            host: ip.to_string(),
            rtype: "A",
        });
    }
}

fn insert_task_srv(
    records: &mut RecordSet,
    out: &mut EnumerableTask,
    name: String,
    target: &SrvTarget,
) {
    if records.insert_srv(name.clone(), target.clone()) {
        out.records.push(EnumerableRecord {
            name,
            host: format!("{}:{}", target.host, target.port),
            rtype: "SRV",
        });
    }
}

/// Mesos-DNS's `taskContextRecord`.
fn task_context_records(
    records: &mut RecordSet,
    ctx: &TaskContext,
    task: &Task,
    fname: &str,
    tail: &str,
    out: &mut EnumerableTask,
) {
    let canonical = format!("{}-{}-{}.{fname}", ctx.name, ctx.hash, ctx.agent);
    let short = format!("{}.{fname}", ctx.name);
    insert_task_a(records, out, format!("{short}{tail}"), ctx.task_ip);
    insert_task_a(records, out, format!("{canonical}{tail}"), ctx.task_ip);
    insert_task_a(records, out, format!("{short}.slave{tail}"), ctx.agent_ip);
    insert_task_a(
        records,
        out,
        format!("{canonical}.slave{tail}"),
        ctx.agent_ip,
    );

    let discovery = task
        .discovery
        .as_ref()
        .filter(|_| discovery_name(task).is_some());
    let agent_host = format!("{canonical}.slave{tail}");
    for port in resource_ports(task) {
        let target = SrvTarget {
            host: agent_host.clone(),
            port,
        };
        for protocol in ["_tcp", "_udp"] {
            let base = format!("_{}.{protocol}.{fname}", ctx.name);
            insert_task_srv(records, out, format!("{base}.slave{tail}"), &target);
            if discovery.is_none() {
                insert_task_srv(records, out, format!("{base}{tail}"), &target);
            }
        }
    }
    let Some(discovery) = discovery else {
        return;
    };
    for port in discovery_ports(discovery) {
        let target = SrvTarget {
            host: format!("{canonical}{tail}"),
            port: port.number,
        };
        let protocols: Vec<String> = match port.protocol.as_deref().map(label) {
            Some(p) if !p.is_empty() => vec![format!("_{p}")],
            _ => vec!["_tcp".into(), "_udp".into()],
        };
        for protocol in protocols {
            let base = format!("_{}.{protocol}.{fname}", ctx.name);
            insert_task_srv(records, out, format!("{base}{tail}"), &target);
            if let Some(port_name) = port.name.as_deref().map(label).filter(|n| !n.is_empty()) {
                insert_task_srv(records, out, format!("_{port_name}.{base}{tail}"), &target);
            }
        }
    }
}

/// The task's port resources, each port of each range (Mesos-DNS's `Resources.Ports`).
pub fn resource_ports(task: &Task) -> Vec<u16> {
    let mut ports = Vec::new();
    for resource in task.resources.iter().filter(|r| r.name == "ports") {
        for range in resource.ranges.iter().flat_map(|r| r.range.iter()) {
            // Bounded: a port range never holds more than 65536 ports.
            let (begin, end) = (range.begin.min(65_535), range.end.min(65_535));
            ports.extend((begin..=end).filter_map(|p| u16::try_from(p).ok()));
        }
    }
    ports
}

struct DiscoveryPort {
    number: u16,
    name: Option<String>,
    protocol: Option<String>,
}

fn discovery_ports(discovery: &Value) -> Vec<DiscoveryPort> {
    let list = discovery
        .get("ports")
        .and_then(|p| p.get("ports"))
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|p| {
            let number = p
                .get("number")?
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())?;
            let text = |k: &str| p.get(k).and_then(Value::as_str).map(String::from);
            Some(DiscoveryPort {
                number,
                name: text("name"),
                protocol: text("protocol"),
            })
        })
        .collect()
}

/// The task's own IPv4 address: from its latest TASK_RUNNING status, the container's network
/// infos first, then the Mesos containerizer's label (Mesos-DNS's default IP sources
/// `netinfo`, `mesos`; `host`, the agent's, is the caller's fallback).
pub fn task_ip(task: &Task) -> Option<Ipv4Addr> {
    let status = task
        .statuses
        .iter()
        .filter(|s| s.state == TaskState::TaskRunning)
        .max_by(|a, b| {
            a.timestamp
                .unwrap_or(0.0)
                .total_cmp(&b.timestamp.unwrap_or(0.0))
        })?;
    let from_netinfo = status
        .container_status
        .as_ref()
        .and_then(|c| c.get("network_infos"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|n| {
            let many = n
                .get("ip_addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("ip_address").and_then(Value::as_str));
            many.chain(n.get("ip_address").and_then(Value::as_str))
        })
        .find_map(|ip| ip.parse::<Ipv4Addr>().ok());
    from_netinfo.or_else(|| {
        status
            .labels
            .as_ref()?
            .labels
            .iter()
            .filter(|l| l.key == MESOS_IP_LABEL)
            .find_map(|l| l.value.as_deref()?.parse().ok())
    })
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
