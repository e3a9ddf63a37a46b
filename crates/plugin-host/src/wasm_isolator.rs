//! [`WasmIsolator`]: an [`IsolatorPlugin`] backed by one long-lived instance of an isolator
//! component, with the `capabilities` import limited to its manifest's grants. An instance
//! that trapped is replaced on the next call: a fresh one gets `init`, `discover` and
//! `recover` with the containers the old one had prepared, so one bad call does not lose the
//! plugin's bookkeeping. Tasks go in as WIT; plans, resources and metrics come back as host
//! types.

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_api::v1;

use super::answer_check::check_resource;
use super::capabilities::CapabilityGrants;
use super::convert::{env_var_from_wit, resources_from_wit};
use super::convert_task::task_to_wit;
use super::error::PluginError;
use super::isolator::{
    CgroupSetting, DeviceRule, IsolatorPlugin, LaunchPlan, Metric, Mount, RecoveredContainer,
};
use super::loaded::{LoadedPlugin, StoreMaker};
use super::manifest::Manifest;
use super::plugin_kind::PluginLimits;
use super::plugin_task::PluginTask;
use super::sandbox::{PluginState, Sandbox};
use corral_wit::isolator::exports::corral::plugin::isolator as wit_iso;
use corral_wit::isolator::{IsolatorPlugin as Bindings, IsolatorPluginPre};

pub struct WasmIsolator {
    stores: StoreMaker,
    name: Arc<str>,
    pre: IsolatorPluginPre<PluginState>,
    limits: PluginLimits,
    config: String,
    grants: Arc<CapabilityGrants>,
    sandbox: Option<Sandbox<Bindings>>,
    /// Containers prepared and not cleaned up, to replay into a replacement instance.
    live: BTreeMap<String, PluginTask>,
}

impl WasmIsolator {
    /// Instantiates the component and calls `init(config)`; a config the plugin rejects is
    /// refused here, at agent start.
    pub(crate) fn new(
        loaded: LoadedPlugin,
        manifest: Manifest,
        config: String,
        root: std::path::PathBuf,
        limits: PluginLimits,
    ) -> Result<Self, PluginError> {
        let pre = IsolatorPluginPre::new(loaded.pre).map_err(|e| PluginError::Invalid {
            plugin: loaded.name.to_string(),
            reason: format!("its exports do not match the isolator interface: {e:#}"),
        })?;
        let mut isolator = WasmIsolator {
            stores: loaded.stores,
            name: loaded.name,
            pre,
            limits,
            config,
            grants: CapabilityGrants::new(manifest, root),
            sandbox: None,
            live: BTreeMap::new(),
        };
        isolator.sandbox = Some(isolator.instantiate()?);
        Ok(isolator)
    }

    fn instantiate(&self) -> Result<Sandbox<Bindings>, PluginError> {
        let mut store = self.stores.store(&self.name, self.limits);
        store.data_mut().capabilities = Some(self.grants.clone());
        Sandbox::instantiated(store, self.limits, |s| self.pre.instantiate(s))?
            .initialized(|b, s| b.corral_plugin_isolator().call_init(s, &self.config))
    }

    /// The live instance, replacing a poisoned one (see the module docs).
    fn live_sandbox(&mut self) -> Result<&mut Sandbox<Bindings>, PluginError> {
        if self.sandbox.as_ref().is_none_or(Sandbox::is_poisoned) {
            self.sandbox = None;
            let mut fresh = self.instantiate()?;
            fresh
                .call("discover", |b, s| {
                    b.corral_plugin_isolator().call_discover(s)
                })?
                .map_err(|m| fresh.failed("discover", m))?;
            let containers: Vec<wit_iso::RecoveredContainer> = self
                .live
                .iter()
                .map(|(id, task)| recovered_to_wit(id, task))
                .collect();
            fresh
                .call("recover", |b, s| {
                    b.corral_plugin_isolator().call_recover(s, &containers)
                })?
                .map_err(|m| fresh.failed("recover", m))?;
            tracing::warn!(
                plugin = &*self.name,
                "replaced the isolator instance after a failure"
            );
            self.sandbox = Some(fresh);
        }
        self.sandbox.as_mut().ok_or_else(|| PluginError::Poisoned {
            plugin: self.name.to_string(),
        })
    }
}

impl IsolatorPlugin for WasmIsolator {
    fn plugin_name(&self) -> &str {
        &self.name
    }

    fn manifest(&self) -> &Manifest {
        &self.grants.manifest
    }

    fn discover(&mut self) -> Result<Vec<v1::Resource>, PluginError> {
        let sandbox = self.live_sandbox()?;
        let answer = sandbox.call("discover", |b, s| {
            b.corral_plugin_isolator().call_discover(s)
        })?;
        let resources = answer.map_err(|m| sandbox.failed("discover", m))?;
        // Discovered resources join the agent's: the same checks as an allocator's grants.
        resources
            .iter()
            .try_for_each(check_resource)
            .map_err(|m| sandbox.bad_answer("discover", m))?;
        Ok(resources_from_wit(&resources))
    }

    /// The caller shows each task as the plugin may see it, plus the environment the
    /// plugin's own plan gave it (agent::isolators::recover).
    fn recover(&mut self, containers: &[RecoveredContainer]) -> Result<(), PluginError> {
        self.live = containers
            .iter()
            .map(|c| (c.container_id.clone(), c.task.clone()))
            .collect();
        let containers: Vec<wit_iso::RecoveredContainer> = containers
            .iter()
            .map(|c| recovered_to_wit(&c.container_id, &c.task))
            .collect();
        let sandbox = self.live_sandbox()?;
        let answer = sandbox.call("recover", |b, s| {
            b.corral_plugin_isolator().call_recover(s, &containers)
        })?;
        answer.map_err(|m| sandbox.failed("recover", m))
    }

    fn prepare(
        &mut self,
        container_id: &str,
        task: &PluginTask,
    ) -> Result<LaunchPlan, PluginError> {
        let mut task = self.visible(task);
        let wit_task = task_to_wit(&task);
        let sandbox = self.live_sandbox()?;
        let answer = sandbox.call("prepare", |b, s| {
            b.corral_plugin_isolator()
                .call_prepare(s, container_id, &wit_task)
        })?;
        let plan = plan_from_wit(answer.map_err(|m| sandbox.failed("prepare", m))?);
        // A replay into a fresh instance (after a trap) shows the plugin the environment its
        // own plan set (the gpu plugin finds its GPUs there), as after an agent restart.
        task.add_environment(plan.environment.iter().cloned());
        self.live.insert(container_id.to_string(), task);
        Ok(plan)
    }

    fn usage(&mut self, container_id: &str) -> Result<Vec<Metric>, PluginError> {
        let sandbox = self.live_sandbox()?;
        let answer = sandbox.call("usage", |b, s| {
            b.corral_plugin_isolator().call_usage(s, container_id)
        })?;
        let metrics = answer.map_err(|m| sandbox.failed("usage", m))?;
        Ok(metrics
            .into_iter()
            .map(|m| Metric {
                name: m.name,
                value: m.value,
            })
            .collect())
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), PluginError> {
        self.live.remove(container_id);
        let sandbox = self.live_sandbox()?;
        let answer = sandbox.call("cleanup", |b, s| {
            b.corral_plugin_isolator().call_cleanup(s, container_id)
        })?;
        answer.map_err(|m| sandbox.failed("cleanup", m))
    }
}

impl WasmIsolator {
    /// The task as the plugin may see it: without the task's environment unless the manifest
    /// grants `task_environment`.
    fn visible(&self, task: &PluginTask) -> PluginTask {
        let mut task = task.clone();
        if !self.grants.manifest.capabilities.task_environment {
            task.clear_environment();
        }
        task
    }
}

fn recovered_to_wit(container_id: &str, task: &PluginTask) -> wit_iso::RecoveredContainer {
    wit_iso::RecoveredContainer {
        container_id: container_id.to_string(),
        task: task_to_wit(task),
    }
}

fn plan_from_wit(plan: wit_iso::LaunchPlan) -> LaunchPlan {
    LaunchPlan {
        environment: plan.environment.into_iter().map(env_var_from_wit).collect(),
        devices: plan
            .devices
            .into_iter()
            .map(|d| DeviceRule {
                path: d.path,
                access: d.access,
            })
            .collect(),
        mounts: plan
            .mounts
            .into_iter()
            .map(|m| Mount {
                source: m.source,
                target: m.target,
                read_only: m.read_only,
            })
            .collect(),
        cgroup: plan
            .cgroup
            .into_iter()
            .map(|c| CgroupSetting {
                controller: c.controller,
                key: c.key,
                value: c.value,
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "wasm_isolator_tests.rs"]
mod tests;
