//! Per-container usage: the agent operator call GET_CONTAINERS (include/mesos/v1/agent/
//! agent.proto) and Mesos' `/monitor/statistics` JSON. A command task runs in its own
//! container, so each is one entry whose executor id is the task id (as Mesos' command
//! executor does); an HTTP executor is one entry for its container, which all its tasks
//! share, with the limits of the executor's and its live tasks' resources.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::agent_cgroups::AgentCgroups;
use super::disk_watch::{DiskWatch, disk_limit_bytes};
use super::http_executors::registry::Registry;
use super::isolators;
use super::task_store::TaskStore;
use corral_api::v1::FrameworkId;
use corral_cgroups::usage::ResourceStatistics;
use corral_plugin_host::isolator::IsolatorSet;

/// What the usage endpoints work with.
#[derive(Clone)]
pub struct ContainersState {
    /// The command tasks that run now.
    pub tasks: Arc<TaskStore>,
    /// The HTTP executors' containers.
    pub executors: Arc<Registry>,
    pub cgroups: Arc<AgentCgroups>,
    /// The isolator plugins the command line gives (their `usage`).
    pub isolators: IsolatorSet,
    /// The sandboxes' last measured disk usage.
    pub disk: Arc<DiskWatch>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdValue {
    pub value: String,
}

/// One entry of GET_CONTAINERS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerEntry {
    pub framework_id: FrameworkId,
    pub executor_id: IdValue,
    pub executor_name: String,
    pub container_id: IdValue,
    pub resource_statistics: Statistics,
}

/// What the agent samples from the container's cgroups (or /proc), plus what its isolator
/// plugins report (`usage`), as more fields of the same object: `{"cpus_limit": 1.0, ...,
/// "gpu_memory_used_bytes": 1024}`. A plugin's metric never replaces a sampled field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Statistics {
    #[serde(flatten)]
    pub sampled: ResourceStatistics,
    /// Not read back: a client's own parse of the object sees every field as sampled.
    #[serde(flatten, skip_deserializing)]
    pub isolator_metrics: BTreeMap<String, f64>,
}

impl Statistics {
    fn merge(sampled: ResourceStatistics, metrics: Vec<(String, f64)>) -> Statistics {
        let taken = match serde_json::to_value(&sampled) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        let mut isolator_metrics = BTreeMap::new();
        for (name, value) in metrics {
            if taken.contains_key(&name) || name == "timestamp" {
                tracing::debug!("isolator metric {name} is sampled by the agent; left out");
                continue;
            }
            isolator_metrics.insert(name, value);
        }
        Statistics {
            sampled,
            isolator_metrics,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct GetContainers {
    #[serde(default)]
    pub containers: Vec<ContainerEntry>,
}

/// One entry of `/monitor/statistics`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MonitorEntry {
    pub executor_id: String,
    pub executor_name: String,
    pub framework_id: String,
    pub source: String,
    pub statistics: Statistics,
}

struct Running {
    framework_id: FrameworkId,
    task_id: String,
    name: String,
    container_id: String,
    cpus: Option<f64>,
    mem_mb: Option<f64>,
    /// The `disk` of a task whose sandbox is watched (`disk_watch.rs`).
    disk_limit: Option<u64>,
}

/// The agent's live containers with their usage, sampled now (off the async threads).
pub async fn containers(state: &ContainersState) -> GetContainers {
    let mut running: Vec<Running> = state
        .tasks
        .running_containers()
        .into_iter()
        .map(|c| {
            let limits = corral_cgroups::Limits::for_task(&c.resources, 0).ok();
            Running {
                framework_id: c.framework_id,
                task_id: c.task_id.value,
                name: c.name,
                container_id: c.container_id,
                cpus: limits.as_ref().and_then(|l| l.cpus),
                mem_mb: limits.as_ref().and_then(|l| l.mem_mb),
                disk_limit: disk_limit_bytes(&c.resources),
            }
        })
        .collect();
    running.extend(state.executors.containers().into_iter().map(|c| {
        let limits = corral_cgroups::Limits::for_task(&c.resources, 0).ok();
        Running {
            framework_id: c.framework_id,
            task_id: c.executor_id.value,
            name: c.name,
            container_id: c.container_id,
            cpus: limits.as_ref().and_then(|l| l.cpus),
            mem_mb: limits.as_ref().and_then(|l| l.mem_mb),
            // An executor's sandbox is not watched.
            disk_limit: None,
        }
    }));
    let cgroups = state.cgroups.clone();
    let isolator_set = state.isolators.clone();
    let disk = state.disk.clone();
    let sampled = tokio::task::spawn_blocking(move || {
        running
            .into_iter()
            .map(|r| {
                let mut stats = cgroups.statistics(&r.container_id);
                stats.cpus_limit = r.cpus;
                stats.mem_limit_bytes = r.mem_mb.map(|mb| (mb * 1024.0 * 1024.0) as u64);
                stats.disk_limit_bytes = r.disk_limit;
                stats.disk_used_bytes = r.disk_limit.and_then(|_| disk.used(&r.container_id));
                let metrics = isolators::usage(&isolator_set, &r.container_id);
                ContainerEntry {
                    framework_id: r.framework_id,
                    executor_id: IdValue { value: r.task_id },
                    executor_name: r.name,
                    container_id: IdValue {
                        value: r.container_id,
                    },
                    resource_statistics: Statistics::merge(stats, metrics),
                }
            })
            .collect()
    })
    .await;
    match sampled {
        Ok(containers) => GetContainers { containers },
        Err(e) => {
            tracing::error!("sampling container usage panicked: {e}");
            GetContainers::default()
        }
    }
}

/// `GET /monitor/statistics`.
pub async fn monitor_statistics(State(state): State<ContainersState>) -> Json<Vec<MonitorEntry>> {
    let entries = containers(&state)
        .await
        .containers
        .into_iter()
        .map(|c| MonitorEntry {
            executor_id: c.executor_id.value,
            executor_name: c.executor_name,
            framework_id: c.framework_id.value,
            source: c.container_id.value,
            statistics: c.resource_statistics,
        })
        .collect();
    Json(entries)
}
