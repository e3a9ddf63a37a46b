//! The operator's configuration of the DRF allocator (JSON given to `init`).

use std::collections::BTreeMap;

use corral_sdk::resources::Resources;
use serde::Deserialize;

/// `{"min_allocatable": {"cpus": 0.01, "mem": 32}}` is the default: like Mesos'
/// `--min_allocatable_resources=cpus:0.01|mem:32`, a grant must hold at least one of these
/// quantities, so agents with only ports or disk left are not offered over and over.
/// An empty map lets any non-empty grant through.
///
/// `filter_gpu_agents` (default true) is Mesos' `--filter_gpu_resources`: agents that have
/// gpus are offered only to frameworks with the GPU_RESOURCES capability, so GPU machines are
/// not filled by work that cannot use their GPUs. When false, such frameworks get everything
/// but the gpus. Either way a framework without the capability never receives gpus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_min_allocatable")]
    pub min_allocatable: BTreeMap<String, f64>,
    #[serde(default = "default_true")]
    pub filter_gpu_agents: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_allocatable: default_min_allocatable(),
            filter_gpu_agents: true,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_min_allocatable() -> BTreeMap<String, f64> {
    BTreeMap::from([("cpus".to_string(), 0.01), ("mem".to_string(), 32.0)])
}

impl Config {
    /// Parses the `init` argument; an empty string means the defaults.
    pub fn parse(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_json::from_str(text)
            .map_err(|e| format!("drf: bad configuration {text:?}: {e}"))?;
        if let Some((name, value)) = config
            .min_allocatable
            .iter()
            .find(|(_, value)| !value.is_finite() || **value < 0.0)
        {
            return Err(format!(
                "drf: min_allocatable.{name} must be a non-negative number, not {value}"
            ));
        }
        Ok(config)
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
