//! The agent's containers as Prometheus series: one per container, labelled with its
//! container, task (or executor) and framework ids, from the same sample as
//! `GET_CONTAINERS` (cgroups, read off the async threads). A value the platform does not
//! give (no memory controller, a task without `disk`) leaves its series out for that
//! container rather than reporting 0.

use corral_cgroups::usage::ResourceStatistics;
use corral_http::prometheus::{Kind, MetricsText};

use super::containers_api::ContainerEntry;

/// One family: its name, kind, help, and how a sample reads it.
struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    value: fn(&ResourceStatistics) -> Option<f64>,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "corral_agent_container_cpu_seconds_total",
        kind: Kind::Counter,
        help: "CPU time the container's processes used (user and system), in seconds.",
        value: |s| match (s.cpus_user_time_secs, s.cpus_system_time_secs) {
            (None, None) => None,
            (user, system) => Some(user.unwrap_or(0.0) + system.unwrap_or(0.0)),
        },
    },
    Family {
        name: "corral_agent_container_cpus_limit",
        kind: Kind::Gauge,
        help: "The container's CPU share, in cores (its task's cpus).",
        value: |s| s.cpus_limit,
    },
    Family {
        name: "corral_agent_container_memory_bytes",
        kind: Kind::Gauge,
        help: "Memory the container uses now (its cgroup's usage), in bytes.",
        value: |s| s.mem_total_bytes.map(|b| b as f64),
    },
    Family {
        name: "corral_agent_container_memory_limit_bytes",
        kind: Kind::Gauge,
        help: "The container's memory limit (its task's mem), in bytes.",
        value: |s| s.mem_limit_bytes.map(|b| b as f64),
    },
    Family {
        name: "corral_agent_container_processes",
        kind: Kind::Gauge,
        help: "Processes in the container.",
        value: |s| s.processes.map(f64::from),
    },
    Family {
        name: "corral_agent_container_disk_used_bytes",
        kind: Kind::Gauge,
        help: "The sandbox's last measured size, for tasks with a disk limit, in bytes.",
        value: |s| s.disk_used_bytes.map(|b| b as f64),
    },
    Family {
        name: "corral_agent_container_disk_limit_bytes",
        kind: Kind::Gauge,
        help: "The sandbox's disk limit (its task's disk), in bytes.",
        value: |s| s.disk_limit_bytes.map(|b| b as f64),
    },
];

/// Writes every family, a series per container that has the value.
pub fn write(text: &mut MetricsText, containers: &[ContainerEntry]) {
    for family in FAMILIES {
        text.family(family.name, family.kind, family.help);
        for container in containers {
            let Some(value) = (family.value)(&container.resource_statistics.sampled) else {
                continue;
            };
            let labels = [
                ("container_id", container.container_id.value.as_str()),
                ("task_id", container.executor_id.value.as_str()),
                ("framework_id", container.framework_id.value.as_str()),
            ];
            text.sample(family.name, &labels, value);
        }
    }
}
