//! The operator's configuration of the DRF allocator (JSON given to `init`).

use std::collections::BTreeMap;

use policy_core::Options;
use policy_core::options::{default_min_allocatable, default_true};
use serde::Deserialize;

/// `{"min_allocatable": {"cpus": 0.01, "mem": 32}, "filter_gpu_agents": true}` are the
/// defaults; see [`Options`] for what they mean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_min_allocatable")]
    min_allocatable: BTreeMap<String, f64>,
    #[serde(default = "default_true")]
    filter_gpu_agents: bool,
}

/// Parses the `init` argument; an empty string means the defaults.
pub fn parse(text: &str) -> Result<Options, String> {
    if text.trim().is_empty() {
        return Ok(Options::default());
    }
    let config: Config =
        serde_json::from_str(text).map_err(|e| format!("drf: bad configuration {text:?}: {e}"))?;
    Options::new("drf", config.min_allocatable, config.filter_gpu_agents)
}
