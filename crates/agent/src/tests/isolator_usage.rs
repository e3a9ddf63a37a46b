//! Isolator plugins' `usage` in GET_CONTAINERS and /monitor/statistics: a plugin's metrics
//! join the container's statistics; one that fails is left out and the answer stands.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::fake_executor;
use super::fake_master::FakeMaster;
use super::support::*;
use crate::run;
use corral_api::v1::{EnvironmentVariable, Resource, TaskState};
use corral_plugin_host::PluginTask;
use corral_plugin_host::error::PluginError;
use corral_plugin_host::isolator::{
    IsolatorPlugin, IsolatorSet, LaunchPlan, Metric, RecoveredContainer,
};
use corral_plugin_host::manifest::Manifest;

/// A plugin whose `usage` answers `metrics`, or fails when `metrics` is `None`; its plan
/// sets `ISOLATOR_SAW_CPUS` to the cpus of the task it prepared, and it records cleanups.
pub(super) struct Reporting {
    name: String,
    manifest: Manifest,
    metrics: Option<Vec<(&'static str, f64)>>,
    pub cleaned: Arc<Mutex<Vec<String>>>,
}

impl IsolatorPlugin for Reporting {
    fn plugin_name(&self) -> &str {
        &self.name
    }
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    fn discover(&mut self) -> Result<Vec<Resource>, PluginError> {
        Ok(Vec::new())
    }
    fn recover(&mut self, _: &[RecoveredContainer]) -> Result<(), PluginError> {
        Ok(())
    }
    fn prepare(&mut self, _: &str, task: &PluginTask) -> Result<LaunchPlan, PluginError> {
        let cpus: f64 = task
            .info
            .resources
            .iter()
            .filter(|r| r.name == "cpus")
            .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
            .sum();
        Ok(LaunchPlan {
            environment: vec![EnvironmentVariable {
                name: "ISOLATOR_SAW_CPUS".into(),
                value: Some(cpus.to_string()),
            }],
            devices: Vec::new(),
            mounts: Vec::new(),
            cgroup: Vec::new(),
        })
    }
    fn usage(&mut self, _: &str) -> Result<Vec<Metric>, PluginError> {
        let metrics = self.metrics.as_ref().ok_or_else(|| PluginError::Trap {
            plugin: self.name.clone(),
            call: "usage".into(),
            message: "unreachable executed".into(),
        })?;
        Ok(metrics
            .iter()
            .map(|(name, value)| Metric {
                name: (*name).to_string(),
                value: *value,
            })
            .collect())
    }
    fn cleanup(&mut self, container_id: &str) -> Result<(), PluginError> {
        self.cleaned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(container_id.to_string());
        Ok(())
    }
}

pub(super) fn plugin(
    name: &str,
    metrics: Option<Vec<(&'static str, f64)>>,
) -> Box<dyn IsolatorPlugin> {
    reporting(name, metrics, Arc::default())
}

pub(super) fn reporting(
    name: &str,
    metrics: Option<Vec<(&'static str, f64)>>,
    cleaned: Arc<Mutex<Vec<String>>>,
) -> Box<dyn IsolatorPlugin> {
    Box::new(Reporting {
        cleaned,
        name: name.into(),
        manifest: Manifest::parse(include_str!("../../../../plugins/gpu/manifest.toml"))
            .expect("gpu manifest"),
        metrics,
    })
}

#[tokio::test]
async fn isolator_usage_joins_the_statistics_and_a_failing_plugin_is_left_out() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut config = config(&master, work.path(), Duration::from_secs(1));
    config.isolators = IsolatorSet::new(
        vec![
            plugin("trapping", None),
            plugin(
                "reporting",
                Some(vec![
                    ("gpu_memory_used_bytes", 1024.0),
                    // The agent samples this one: the plugin does not replace it.
                    ("cpus_limit", 99.0),
                    ("Not A Name", 1.0),
                    ("infinite", f64::INFINITY),
                ]),
            ),
        ],
        "/".into(),
    );
    let agent = run(config, fake_executor::factory())
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    let mut task = shell_task("t", "t", "sleep 300", None);
    if let corral_api::agent_protocol::AgentCommand::RunTask { task, .. } = &mut task {
        task.resources = corral_api::resources::parse_resources("cpus:0.5;mem:64").expect("parse");
    }
    master.send(task);
    master
        .wait_until("the task to run", |m| {
            m.states_of("t").contains(&TaskState::TaskRunning)
        })
        .await;

    let containers = containers(&agent).await;
    assert_eq!(containers.len(), 1, "{containers:?}");
    let stats = &containers[0]["resource_statistics"];
    assert_eq!(stats["gpu_memory_used_bytes"], 1024.0, "{stats}");
    assert_eq!(stats["cpus_limit"], 0.5, "{stats}");
    assert!(stats.get("Not A Name").is_none(), "{stats}");
    assert!(stats.get("infinite").is_none(), "{stats}");
    assert!(stats["timestamp"].as_f64().is_some(), "{stats}");

    let monitor: Value =
        crate::tests::support::http_get(format!("http://{}/monitor/statistics", agent.addr))
            .await
            .expect("agent answers")
            .json()
            .await
            .expect("JSON");
    assert_eq!(
        monitor[0]["statistics"]["gpu_memory_used_bytes"], 1024.0,
        "{monitor}"
    );
    master.send(kill("t"));
    master
        .wait_until("the task to be killed", |m| {
            m.states_of("t").contains(&TaskState::TaskKilled)
        })
        .await;
}
