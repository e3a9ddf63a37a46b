//! The agent's isolator plugins (`--isolator`): their resources join the agent's at start,
//! each prepares a launch plan before a task's first process, the host applies only what the
//! plugin's manifest grants (environment, device rules in the devices cgroup, cgroup
//! settings), and each cleans up when the container is gone. Any refusal, error, trap or
//! timeout fails the launch with a message naming the plugin.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::checkpoint_writer::{CheckpointWriter, Pending};
use super::container_checkpoint::{self, IsolationCheckpoint};
use corral_api::v1::{EnvironmentVariable, Resource};
use corral_cgroups::devices::{DeviceCgroup, rule_for};
use corral_plugin_host::PluginTask;
use corral_plugin_host::isolator::{
    CgroupSetting, IsolatorPlugin, IsolatorSet, RecoveredContainer, check_plan,
};

type Plugin = Arc<Mutex<Box<dyn IsolatorPlugin>>>;

fn lock(plugin: &Plugin) -> std::sync::MutexGuard<'_, Box<dyn IsolatorPlugin>> {
    plugin
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// At agent start: every plugin's discovered resources (a name the operator already gave in
/// `--resources` is left to the operator), then `recover` with `recovered` (the containers
/// reattached after a restart are given later, by [`recover`]).
pub(crate) fn discover(
    isolators: &IsolatorSet,
    resources: &mut Vec<Resource>,
    recovered: &[RecoveredContainer],
) -> Result<(), String> {
    for plugin in &isolators.plugins {
        let mut plugin = lock(plugin);
        let found = plugin.discover().map_err(|e| e.to_string())?;
        for resource in found {
            if resources.iter().any(|r| r.name == resource.name) {
                tracing::info!(
                    "isolator {}: {} is set by --resources; not adding the discovered one",
                    plugin.plugin_name(),
                    resource.name
                );
                continue;
            }
            resources.push(resource);
        }
        plugin.recover(recovered).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A container reattached after an agent restart, for the plugins' `recover`.
pub(crate) struct Survivor {
    pub container_id: String,
    /// The task as the old agent gave it to `prepare`.
    pub task: PluginTask,
    /// What each plugin's plan gave it (checkpointed with the container).
    pub plans: Vec<IsolationCheckpoint>,
}

/// After an agent restart: every plugin is told the containers still running, each task as
/// the plugin may see it plus the environment its own plan gave the container (where the
/// gpu plugin records which GPUs it holds). A plugin that fails is logged: the agent keeps
/// its tasks, and that plugin starts with no bookkeeping.
pub(crate) fn recover(isolators: &IsolatorSet, survivors: &[Survivor]) {
    for plugin in &isolators.plugins {
        let mut plugin = lock(plugin);
        let name = plugin.plugin_name().to_string();
        let sees_environment = plugin.manifest().capabilities.task_environment;
        let containers: Vec<RecoveredContainer> = survivors
            .iter()
            .map(|survivor| {
                let mut task = survivor.task.clone();
                if !sees_environment {
                    task.clear_environment();
                }
                let own = survivor.plans.iter().filter(|p| p.plugin == name);
                task.add_environment(own.flat_map(|p| &p.environment).map(|(name, value)| {
                    EnvironmentVariable {
                        name: name.clone(),
                        value: Some(value.clone()),
                    }
                }));
                RecoveredContainer {
                    container_id: survivor.container_id.clone(),
                    task,
                }
            })
            .collect();
        match plugin.recover(&containers) {
            Ok(()) => tracing::info!("isolator {name}: recovered {} containers", containers.len()),
            Err(e) => tracing::error!("isolator {e}: its recovered containers are not known to it"),
        }
    }
}

/// Every plugin's usage of a container (`usage`), by metric name. A plugin that fails, traps
/// or answers a malformed name is logged and left out: the rest of the answer stands.
pub(crate) fn usage(isolators: &IsolatorSet, container_id: &str) -> Vec<(String, f64)> {
    let mut metrics = Vec::new();
    for plugin in &isolators.plugins {
        let mut plugin = lock(plugin);
        match plugin.usage(container_id) {
            Ok(found) => {
                for metric in found {
                    let well_formed = !metric.name.is_empty()
                        && metric
                            .name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                    if well_formed && metric.value.is_finite() {
                        metrics.push((metric.name, metric.value));
                    } else {
                        tracing::warn!(
                            "isolator plugin {}: usage of {container_id}: metric {:?} = {} \
                             is not a lowercase name with a finite value; left out",
                            plugin.plugin_name(),
                            metric.name,
                            metric.value
                        );
                    }
                }
            }
            Err(e) => tracing::warn!("usage of {container_id}: isolator {e}; left out"),
        }
    }
    metrics
}

/// What the plugins' plans put on one container.
#[derive(Default)]
pub(crate) struct Prepared {
    /// Added to every process of the task, after the task's own variables.
    pub environment: Vec<EnvironmentVariable>,
    /// Each plugin's environment, to checkpoint for [`recover`].
    pub plans: Vec<IsolationCheckpoint>,
    pub devices: Option<DeviceCgroup>,
    /// The plugins that prepared the container, to clean up.
    prepared: Vec<Plugin>,
}

/// Calls `prepare` on every plugin in order and applies the plans. `cgroup` is the
/// container's cgroup path relative to each hierarchy's root (`None` under posix isolation,
/// where device rules cannot be enforced). On failure, whatever was prepared is cleaned up.
pub(crate) fn prepare(
    isolators: &IsolatorSet,
    container_id: &str,
    task: &PluginTask,
    cgroup: Option<&Path>,
) -> Result<Prepared, String> {
    let mut prepared = Prepared::default();
    let mut device_rules = Vec::new();
    let mut settings: Vec<(String, CgroupSetting)> = Vec::new();
    for plugin in &isolators.plugins {
        let mut guard = lock(plugin);
        let name = guard.plugin_name().to_string();
        // The plugin may have taken something even when it fails; clean it up too.
        prepared.prepared.push(plugin.clone());
        let plan = match guard.prepare(container_id, task) {
            Ok(plan) => plan,
            Err(e) => {
                drop(guard);
                cleanup(prepared, container_id);
                return Err(format!("isolator {e}"));
            }
        };
        let refusals = check_plan(guard.manifest(), &plan);
        drop(guard);
        if !refusals.is_empty() {
            cleanup(prepared, container_id);
            return Err(format!(
                "isolator plugin {name}: launch plan refused: {}",
                refusals.join("; ")
            ));
        }
        prepared.plans.push(IsolationCheckpoint {
            plugin: name.clone(),
            environment: plan
                .environment
                .iter()
                .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
                .collect(),
        });
        prepared.environment.extend(plan.environment);
        for rule in &plan.devices {
            let node = host_path(&isolators.discovery_root, &rule.path);
            match rule_for(&node, &rule.access) {
                Ok(line) => device_rules.push(line),
                Err(e) => {
                    cleanup(prepared, container_id);
                    return Err(format!("isolator plugin {name}: device {}: {e}", rule.path));
                }
            }
        }
        settings.extend(plan.cgroup.into_iter().map(|s| (name.clone(), s)));
    }
    let applied = apply_cgroups(&mut prepared, cgroup, &device_rules, &settings);
    if let Err(message) = applied {
        cleanup(prepared, container_id);
        return Err(message);
    }
    Ok(prepared)
}

/// Checkpoints each plugin's environment with the container, for [`recover`], through the
/// writer; `None` when there is nothing to keep. A failure is logged (after a restart the
/// plugin would not know the container).
pub(crate) fn checkpoint(
    writer: &CheckpointWriter,
    work_dir: &Path,
    container_id: &str,
    prepared: &Prepared,
) -> Option<Pending> {
    if prepared.plans.iter().all(|p| p.environment.is_empty()) {
        return None;
    }
    let what = format!("the isolator plans of container {container_id}");
    match container_checkpoint::encode_isolation(work_dir, container_id, &prepared.plans) {
        Ok((path, bytes)) => Some(writer.write(path, bytes, what)),
        Err(e) => {
            tracing::error!("cannot checkpoint {what}: {e}");
            None
        }
    }
}

/// A reattached container's share of the plugins, to clean up when it ends: every plugin,
/// and the devices cgroup its plan made if it is there.
pub(crate) fn adopted(isolators: &IsolatorSet, cgroup: Option<&Path>) -> Prepared {
    Prepared {
        devices: cgroup.and_then(DeviceCgroup::adopt),
        prepared: isolators.plugins.clone(),
        ..Prepared::default()
    }
}

fn apply_cgroups(
    prepared: &mut Prepared,
    cgroup: Option<&Path>,
    device_rules: &[String],
    settings: &[(String, CgroupSetting)],
) -> Result<(), String> {
    let Some(relative) = cgroup else {
        if !device_rules.is_empty() || !settings.is_empty() {
            tracing::warn!(
                "posix isolation: device rules {device_rules:?} and cgroup settings are not \
                 enforced"
            );
        }
        return Ok(());
    };
    if !device_rules.is_empty() {
        let devices = DeviceCgroup::create(relative, device_rules)
            .map_err(|e| format!("cannot set up the devices cgroup: {e}"))?;
        prepared.devices = Some(devices);
    }
    for (plugin, setting) in settings {
        apply_setting(relative, setting).map_err(|e| {
            format!(
                "isolator plugin {plugin}: cgroup setting {}: {e}",
                setting.key
            )
        })?;
    }
    Ok(())
}

/// Writes one granted setting into the container's cgroup of that controller (v1), or its
/// one cgroup (v2).
fn apply_setting(relative: &Path, setting: &CgroupSetting) -> Result<(), String> {
    let mounts = corral_cgroups::mounts::read();
    let mount = corral_cgroups::mounts::cgroup_v1(&mounts, &setting.controller);
    let mount = match mount {
        Some(mount) => mount,
        None => corral_cgroups::v2::discover(&mounts)
            .ok_or_else(|| format!("controller {} is not mounted", setting.controller))?,
    };
    let path = mount.join(relative).join(&setting.key);
    std::fs::write(&path, &setting.value).map_err(|e| format!("{}: {e}", path.display()))
}

/// "/dev/nvidia0" below the discovery root.
fn host_path(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The container is gone: every plugin that prepared it cleans up, and its devices cgroup
/// goes. Failures are logged; the container is gone either way.
pub(crate) fn cleanup(prepared: Prepared, container_id: &str) {
    if let Some(devices) = &prepared.devices {
        devices.destroy();
    }
    for plugin in prepared.prepared.iter().rev() {
        let mut plugin = lock(plugin);
        if let Err(e) = plugin.cleanup(container_id) {
            tracing::warn!("container {container_id}: isolator {e}");
        }
    }
}
