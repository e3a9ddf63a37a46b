//! The operator's configuration of the priority allocator (JSON given to `init`):
//!
//! ```json
//! {"queues": {"prod":  {"guarantee": 0.6, "cap": 0.8, "order": "priority"},
//!             "batch": {"guarantee": 0.2, "cap": 1.0}},
//!  "framework_priority": {"checkout": 10, "reports": 1}}
//! ```
//!
//! Each role is a queue. `guarantee` and `cap` are shares of the cluster (0..=1, of each of
//! cpus, mem, disk and gpus); a role's `set-quota` guarantees and limits apply as well (the
//! larger guarantee and the smaller cap win). `order` is `fifo` (default: frameworks in the
//! order they subscribed) or `priority` (higher `framework_priority` first, by framework id or
//! else name; 0 when not listed; FIFO among equals). `min_allocatable` and
//! `filter_gpu_agents` are as for `drf`.

use std::collections::BTreeMap;

use policy_core::Options;
use policy_core::options::{default_min_allocatable, default_true};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueOrder {
    #[default]
    Fifo,
    Priority,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    #[serde(default)]
    pub guarantee: f64,
    #[serde(default = "one")]
    pub cap: f64,
    #[serde(default)]
    pub order: QueueOrder,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            guarantee: 0.0,
            cap: 1.0,
            order: QueueOrder::Fifo,
        }
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    queues: BTreeMap<String, QueueConfig>,
    #[serde(default)]
    framework_priority: BTreeMap<String, i64>,
    #[serde(default = "default_min_allocatable")]
    min_allocatable: BTreeMap<String, f64>,
    #[serde(default = "default_true")]
    filter_gpu_agents: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub queues: BTreeMap<String, QueueConfig>,
    pub framework_priority: BTreeMap<String, i64>,
    pub options: Options,
}

impl Config {
    /// Parses the `init` argument; an empty string means no queue settings.
    pub fn parse(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let raw: Raw = serde_json::from_str(text)
            .map_err(|e| format!("priority: bad configuration {text:?}: {e}"))?;
        for (name, queue) in &raw.queues {
            let share = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
            if !share(queue.guarantee) || !share(queue.cap) || queue.cap == 0.0 {
                return Err(format!(
                    "priority: queue {name}: guarantee must be a share from 0 to 1 and cap one \
                     above 0 up to 1, not {} and {}",
                    queue.guarantee, queue.cap
                ));
            }
            if queue.guarantee > queue.cap {
                return Err(format!(
                    "priority: queue {name}: guarantee {} is above its cap {}",
                    queue.guarantee, queue.cap
                ));
            }
        }
        Ok(Config {
            queues: raw.queues,
            framework_priority: raw.framework_priority,
            options: Options::new("priority", raw.min_allocatable, raw.filter_gpu_agents)?,
        })
    }

    pub fn queue(&self, role: &str) -> QueueConfig {
        self.queues.get(role).cloned().unwrap_or_default()
    }

    /// A framework's priority: by id, else by name, else 0.
    pub fn priority(&self, id: &str, name: &str) -> i64 {
        self.framework_priority
            .get(id)
            .or_else(|| self.framework_priority.get(name))
            .copied()
            .unwrap_or(0)
    }
}
