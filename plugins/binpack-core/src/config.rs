//! The operator's configuration of the binpack allocator (JSON given to `init`):
//! `{"agents_per_framework": 1}` (the default) is how many agents one framework is offered per
//! cycle; `min_allocatable` and `filter_gpu_agents` are as for `drf`.

use std::collections::BTreeMap;

use policy_core::Options;
use policy_core::options::{default_min_allocatable, default_true};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "one")]
    agents_per_framework: usize,
    #[serde(default = "default_min_allocatable")]
    min_allocatable: BTreeMap<String, f64>,
    #[serde(default = "default_true")]
    filter_gpu_agents: bool,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub agents_per_framework: usize,
    pub options: Options,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            agents_per_framework: 1,
            options: Options::default(),
        }
    }
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let raw: Raw = serde_json::from_str(text)
            .map_err(|e| format!("binpack: bad configuration {text:?}: {e}"))?;
        if raw.agents_per_framework == 0 {
            return Err("binpack: agents_per_framework must be at least 1".to_string());
        }
        Ok(Config {
            agents_per_framework: raw.agents_per_framework,
            options: Options::new("binpack", raw.min_allocatable, raw.filter_gpu_agents)?,
        })
    }
}
