//! The NVIDIA GPU isolator. `discover` finds the GPUs from their device nodes
//! (`/dev/nvidia[0-9]*`) and `/proc/driver/nvidia/gpus/*/information` and offers them as
//! `gpus: N`; `prepare` gives a container whole GPUs (the lowest free minors), allowing their
//! nodes plus `/dev/nvidiactl` and `/dev/nvidia-uvm` and naming them in
//! `CUDA_VISIBLE_DEVICES` / `NVIDIA_VISIBLE_DEVICES`; `cleanup` frees them; `recover` rebuilds
//! the assignment from the `CORRAL_GPU_MINORS` variable the plan put in the task environment.

use std::collections::BTreeMap;

use corral_sdk::isolator::{
    DeviceRule, EnvVar, Isolator, LaunchPlan, RecoveredContainer, Resource, TaskInfo, capabilities,
};

mod information;

pub use information::GpuInformation;

/// Where the driver describes each GPU (one directory per PCI bus id).
pub const GPUS_DIR: &str = "/proc/driver/nvidia/gpus";
/// The environment variable that records a container's GPUs (minor numbers) for `recover`.
pub const MINORS_VAR: &str = "CORRAL_GPU_MINORS";
/// Access granted to each node: read, write and mknod, as Mesos' GPU isolator allows.
const ACCESS: &str = "rwm";
/// Nodes every GPU container needs besides its GPUs' own, when present.
const CONTROL_NODES: &[&str] = &["/dev/nvidiactl", "/dev/nvidia-uvm"];

/// One GPU: its device node's minor number and what the driver says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpu {
    pub minor: u32,
    pub node: String,
    pub info: Option<GpuInformation>,
}

#[derive(Default)]
pub struct GpuIsolator {
    /// By minor number.
    gpus: BTreeMap<u32, Gpu>,
    control_nodes: Vec<String>,
    /// Container id -> the minors it holds.
    assigned: BTreeMap<String, Vec<u32>>,
}

impl GpuIsolator {
    /// The GPUs found by `discover`, by minor number.
    pub fn gpus(&self) -> impl Iterator<Item = &Gpu> {
        self.gpus.values()
    }

    /// Minors no container holds, lowest first.
    fn free(&self) -> Vec<u32> {
        self.gpus
            .keys()
            .copied()
            .filter(|m| !self.assigned.values().any(|held| held.contains(m)))
            .collect()
    }

    fn id_of(&self, minor: u32) -> String {
        match self.gpus.get(&minor).and_then(|g| g.info.as_ref()) {
            Some(info) if !info.uuid.is_empty() => info.uuid.clone(),
            _ => minor.to_string(),
        }
    }

    fn plan(&self, minors: &[u32]) -> LaunchPlan {
        let mut devices: Vec<DeviceRule> = minors
            .iter()
            .filter_map(|m| self.gpus.get(m))
            .map(|g| DeviceRule {
                path: g.node.clone(),
                access: ACCESS.into(),
            })
            .collect();
        if !minors.is_empty() {
            devices.extend(self.control_nodes.iter().map(|path| DeviceRule {
                path: path.clone(),
                access: ACCESS.into(),
            }));
        }
        let ids: Vec<String> = minors.iter().map(|m| self.id_of(*m)).collect();
        let list = |items: &[String]| items.join(",");
        let minor_list: Vec<String> = minors.iter().map(u32::to_string).collect();
        let environment = vec![
            env("CUDA_VISIBLE_DEVICES", list(&ids)),
            env("NVIDIA_VISIBLE_DEVICES", list(&ids)),
            env(MINORS_VAR, list(&minor_list)),
        ];
        LaunchPlan {
            environment,
            devices,
            mounts: Vec::new(),
            cgroup: Vec::new(),
        }
    }
}

fn env(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.into(),
        value,
    }
}

/// The whole number of GPUs a task asks for, or why it cannot have them.
pub fn requested_gpus(task: &TaskInfo) -> Result<u32, String> {
    let total: f64 = task
        .resources
        .iter()
        .filter(|r| r.name == "gpus")
        .filter_map(Resource::as_scalar)
        .sum();
    if total < 0.0 || total.fract() != 0.0 || total > f64::from(u32::MAX) {
        return Err(format!(
            "the task asks for {total} gpus; GPUs are given whole, ask for a whole number"
        ));
    }
    Ok(total as u32)
}

/// The minor number of a node such as "/dev/nvidia3".
fn minor_of(node: &str) -> Option<u32> {
    node.strip_prefix("/dev/nvidia")?.parse().ok()
}

impl Isolator for GpuIsolator {
    fn init(&mut self, config: String) -> Result<(), String> {
        if config.trim().is_empty() || config.trim() == "{}" {
            return Ok(());
        }
        Err(format!(
            "the gpu isolator takes no configuration, got {config:?}"
        ))
    }

    fn discover(&mut self) -> Result<Vec<Resource>, String> {
        let mut infos: BTreeMap<u32, GpuInformation> = BTreeMap::new();
        // No driver directory means no descriptions, not no GPUs: the nodes decide.
        for bus in capabilities::list_dir(GPUS_DIR).unwrap_or_default() {
            let path = format!("{GPUS_DIR}/{bus}/information");
            let text = capabilities::read_file(&path)?;
            let info = GpuInformation::parse(&String::from_utf8_lossy(&text))
                .map_err(|e| format!("{path}: {e}"))?;
            infos.insert(info.minor, info);
        }
        self.gpus.clear();
        for node in capabilities::devices("/dev/nvidia[0-9]*")? {
            let Some(minor) = minor_of(&node) else {
                continue;
            };
            let info = infos.remove(&minor);
            self.gpus.insert(minor, Gpu { minor, node, info });
        }
        self.control_nodes.clear();
        for node in CONTROL_NODES {
            if !capabilities::devices(node)?.is_empty() {
                self.control_nodes.push((*node).to_string());
            }
        }
        for gpu in self.gpus.values() {
            let model = gpu.info.as_ref().map_or("unknown model", |i| &i.model);
            corral_sdk::log::info(&format!("found GPU {} ({model})", gpu.node));
        }
        if self.gpus.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![Resource::scalar("gpus", self.gpus.len() as f64)])
    }

    fn recover(&mut self, containers: Vec<RecoveredContainer>) -> Result<(), String> {
        self.assigned.clear();
        for container in containers {
            let recorded = container
                .task
                .command
                .as_ref()
                .and_then(|c| c.environment.iter().find(|e| e.name == MINORS_VAR))
                .map(|e| {
                    e.value
                        .split(',')
                        .filter_map(|m| m.trim().parse::<u32>().ok())
                        .collect::<Vec<u32>>()
                });
            let minors = match recorded {
                Some(minors) => minors,
                // Not recorded: give back as many as it asked for, lowest free first.
                None => {
                    let wanted = requested_gpus(&container.task)? as usize;
                    self.free().into_iter().take(wanted).collect()
                }
            };
            if !minors.is_empty() {
                self.assigned.insert(container.container_id, minors);
            }
        }
        Ok(())
    }

    fn prepare(&mut self, container_id: String, task: TaskInfo) -> Result<LaunchPlan, String> {
        let wanted = requested_gpus(&task)?;
        if let Some(held) = self.assigned.get(&container_id) {
            return Ok(self.plan(&held.clone()));
        }
        if wanted == 0 {
            return Ok(LaunchPlan {
                environment: Vec::new(),
                devices: Vec::new(),
                mounts: Vec::new(),
                cgroup: Vec::new(),
            });
        }
        let free = self.free();
        if free.len() < wanted as usize {
            return Err(format!(
                "the task asks for {wanted} gpus but only {} of {} are free",
                free.len(),
                self.gpus.len()
            ));
        }
        let minors: Vec<u32> = free.into_iter().take(wanted as usize).collect();
        self.assigned.insert(container_id, minors.clone());
        Ok(self.plan(&minors))
    }

    fn cleanup(&mut self, container_id: String) -> Result<(), String> {
        self.assigned.remove(&container_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
