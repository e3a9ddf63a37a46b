//! An HTTP executor adopted after an agent restart keeps what the isolator plugins gave its
//! container: the plugins are told of it in `recover`, as of a reattached task's, and clean
//! it up when the executor ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::fake_master::FakeMaster;
use super::http_executor::left_by_an_earlier_run;
use super::support::*;
use crate::plugins::bindings::types::{Resource, TaskInfo};
use crate::plugins::error::PluginError;
use crate::plugins::isolator::{
    IsolatorPlugin, IsolatorSet, LaunchPlan, Metric, RecoveredContainer,
};
use crate::plugins::manifest::Manifest;

/// A plugin that records the containers `recover` hands it (id and task id) and those it
/// is asked to clean up.
struct Recording {
    manifest: Manifest,
    recovered: Arc<Mutex<Vec<(String, String)>>>,
    cleaned: Arc<Mutex<Vec<String>>>,
}

impl IsolatorPlugin for Recording {
    fn plugin_name(&self) -> &str {
        "recording"
    }
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    fn discover(&mut self) -> Result<Vec<Resource>, PluginError> {
        Ok(Vec::new())
    }
    fn recover(&mut self, containers: &[RecoveredContainer]) -> Result<(), PluginError> {
        let mut recovered = self
            .recovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for c in containers {
            recovered.push((c.container_id.clone(), c.task.task_id.clone()));
        }
        Ok(())
    }
    fn prepare(&mut self, _: &str, _: &TaskInfo) -> Result<LaunchPlan, PluginError> {
        Ok(LaunchPlan {
            environment: Vec::new(),
            devices: Vec::new(),
            mounts: Vec::new(),
            cgroup: Vec::new(),
        })
    }
    fn usage(&mut self, _: &str) -> Result<Vec<Metric>, PluginError> {
        Ok(Vec::new())
    }
    fn cleanup(&mut self, container_id: &str) -> Result<(), PluginError> {
        self.cleaned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(container_id.to_string());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolator_plugins_recover_an_adopted_executors_container() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut orphan = left_by_an_earlier_run(work.path(), &["t1"]);
    let recovered = Arc::new(Mutex::new(Vec::new()));
    let cleaned = Arc::new(Mutex::new(Vec::new()));
    let mut config = config(&master, work.path(), Duration::from_secs(1));
    config.isolators = IsolatorSet::new(
        vec![Box::new(Recording {
            manifest: Manifest::parse(include_str!("../../../../plugins/gpu/manifest.toml"))
                .expect("gpu manifest"),
            recovered: recovered.clone(),
            cleaned: cleaned.clone(),
        })],
        "/".into(),
    );
    let agent = crate::agent::run(config, super::fake_executor::factory())
        .await
        .expect("agent starts");
    wait_registered(&agent).await;
    let seen = recovered
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(
        seen,
        vec![("executor-container".to_string(), "t1".to_string())],
        "the executor's container, as it was prepared (with its first task)"
    );
    // The executor ends: the plugins release its container.
    let _ = orphan.kill();
    let _ = orphan.wait();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = cleaned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if now == vec!["executor-container".to_string()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the plugins were not asked to clean up the ended executor's container: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent.shutdown().await;
}
