//! The small value types of an app definition: upgrade, unreachable and kill strategies, the
//! network, and the version info.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// How a new version replaces the old one: fractions of `instances`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeStrategy {
    pub maximum_over_capacity: f64,
    pub minimum_health_capacity: f64,
    /// Beyond Marathon (as Nomad's `canary`): on a restart, this many new tasks first, and no
    /// old task killed until they stayed healthy for `canary_healthy_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_healthy_seconds: Option<u32>,
    /// Beyond Marathon (as Nomad's `auto_revert`): a restart whose new tasks fail is rolled
    /// back to the previous version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback: Option<bool>,
}

impl Default for UpgradeStrategy {
    /// Marathon's `UpgradeStrategy.empty`.
    fn default() -> Self {
        UpgradeStrategy {
            maximum_over_capacity: 1.0,
            minimum_health_capacity: 1.0,
            canary: None,
            canary_healthy_seconds: None,
            auto_rollback: None,
        }
    }
}

/// When a task on an unreachable agent is replaced (`inactiveAfterSeconds`) and forgotten
/// (`expungeAfterSeconds`), or never (`"disabled"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UnreachableStrategy {
    Enabled {
        #[serde(rename = "inactiveAfterSeconds")]
        inactive_after_seconds: u64,
        #[serde(rename = "expungeAfterSeconds")]
        expunge_after_seconds: u64,
    },
    Disabled(Disabled),
}

/// The string `"disabled"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disabled {
    Disabled,
}

impl Default for UnreachableStrategy {
    /// Marathon 1.5+: replace at once, expunge at once (`UnreachableEnabled()`).
    fn default() -> Self {
        UnreachableStrategy::Enabled {
            inactive_after_seconds: 0,
            expunge_after_seconds: 0,
        }
    }
}

/// Which instances go first when an app scales down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KillSelection {
    #[default]
    YoungestFirst,
    OldestFirst,
}

impl KillSelection {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "YOUNGEST_FIRST" => Some(KillSelection::YoungestFirst),
            "OLDEST_FIRST" => Some(KillSelection::OldestFirst),
            _ => None,
        }
    }
}

/// An app's network; only host networking exists so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub mode: String,
}

impl Network {
    pub fn host() -> Self {
        Network {
            mode: "host".to_string(),
        }
    }
}

/// When the app was last scaled and last changed otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub last_scaling_at: Timestamp,
    pub last_config_change_at: Timestamp,
}
