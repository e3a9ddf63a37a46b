//! [`App`]: one app definition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checks::{HealthCheck, ReadinessCheck};
use super::constraint::Constraint;
use super::ports::{Artifact, PortDefinition};
use super::strategy::{KillSelection, Network, UnreachableStrategy, UpgradeStrategy, VersionInfo};
use crate::path_id::PathId;
use crate::time::Timestamp;

/// An app definition, canonical. Field order is Marathon's (RAML) order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_resource_roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    pub backoff_factor: f64,
    pub backoff_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// Only an image-less MESOS container is accepted so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Value>,
    pub cpus: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    pub disk: f64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    pub executor: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetch: Vec<Artifact>,
    pub gpus: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheck>,
    pub instances: u32,
    pub labels: BTreeMap<String, String>,
    pub max_launch_delay_seconds: u32,
    pub mem: f64,
    pub networks: Vec<Network>,
    pub port_definitions: Vec<PortDefinition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness_checks: Vec<ReadinessCheck>,
    pub require_ports: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_kill_grace_period_seconds: Option<u32>,
    pub upgrade_strategy: UpgradeStrategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub version: Timestamp,
    /// Absent until the app is stored (Marathon's answer to a POST has none either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<VersionInfo>,
    pub unreachable_strategy: UnreachableStrategy,
    pub kill_selection: KillSelection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Marathon 1.9's field: shown only when the app names it, so 1.4-1.6 clients see none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl App {
    pub fn path_id(&self) -> PathId {
        PathId::parse(&self.id)
    }

    /// The version of the app's last change other than scaling: tasks launched for an older
    /// one are outdated and get replaced.
    pub fn config_version(&self) -> Timestamp {
        self.version_info
            .map(|v| v.last_config_change_at)
            .unwrap_or(self.version)
    }

    /// The service ports (the `port` of each port definition).
    pub fn service_ports(&self) -> Vec<u32> {
        self.port_definitions.iter().map(|p| p.port).collect()
    }

    /// Whether `other` differs from this app in `instances` (and versions) only.
    pub fn is_only_scale_change(&self, other: &App) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        for app in [&mut a, &mut b] {
            app.instances = 0;
            app.version = Timestamp::default();
            app.version_info = None;
        }
        a == b
    }

    /// Whether `other` is this app with nothing changed but its version fields.
    pub fn same_definition(&self, other: &App) -> bool {
        self.instances == other.instances && self.is_only_scale_change(other)
    }

    /// The app as `GET` shows it: its JSON object.
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}
