//! Settings every policy shares (each policy's `init` JSON carries them beside its own).

use std::collections::BTreeMap;

use corral_sdk::resources::Resources;

/// `min_allocatable` (default `{"cpus": 0.01, "mem": 32}`): like Mesos'
/// `--min_allocatable_resources=cpus:0.01|mem:32`, a grant must hold at least one of these
/// quantities, so agents with only ports or disk left are not offered over and over. An
/// empty map lets any non-empty grant through.
///
/// `filter_gpu_agents` (default true) is Mesos' `--filter_gpu_resources`: agents that have
/// gpus are offered only to frameworks with the GPU_RESOURCES capability. When false, such
/// frameworks get everything but the gpus. Either way a framework without the capability
/// never receives gpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub min_allocatable: BTreeMap<String, f64>,
    pub filter_gpu_agents: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_allocatable: default_min_allocatable(),
            filter_gpu_agents: true,
        }
    }
}

pub fn default_true() -> bool {
    true
}

pub fn default_min_allocatable() -> BTreeMap<String, f64> {
    BTreeMap::from([("cpus".to_string(), 0.01), ("mem".to_string(), 32.0)])
}

impl Options {
    /// Checks the values a policy parsed; `policy` names it in the message.
    pub fn new(
        policy: &str,
        min_allocatable: BTreeMap<String, f64>,
        filter_gpu_agents: bool,
    ) -> Result<Options, String> {
        if let Some((name, value)) = min_allocatable
            .iter()
            .find(|(_, value)| !value.is_finite() || **value < 0.0)
        {
            return Err(format!(
                "{policy}: min_allocatable.{name} must be a non-negative number, not {value}"
            ));
        }
        Ok(Options {
            min_allocatable,
            filter_gpu_agents,
        })
    }

    /// True when `resources` are worth a grant.
    pub fn allocatable(&self, resources: &Resources) -> bool {
        if resources.is_empty() {
            return false;
        }
        self.min_allocatable.is_empty()
            || self
                .min_allocatable
                .iter()
                .any(|(name, min)| resources.scalar(name) >= *min && resources.scalar(name) > 0.0)
    }
}
