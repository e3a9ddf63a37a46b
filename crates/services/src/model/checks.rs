//! Health checks and readiness checks as an app declares them (run by `crate::health`).

use serde::{Deserialize, Serialize};

/// `healthChecks[]` (Marathon's AppHealthCheck), with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheck>,
    pub grace_period_seconds: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "ignoreHttp1xx"
    )]
    pub ignore_http1xx: Option<bool>,
    pub interval_seconds: u32,
    pub max_consecutive_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u32>,
    pub protocol: String,
    pub ip_protocol: String,
    pub timeout_seconds: u32,
    pub delay_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandCheck {
    pub value: String,
}

pub const HEALTH_PROTOCOLS: [&str; 7] = [
    "HTTP",
    "HTTPS",
    "TCP",
    "COMMAND",
    "MESOS_TCP",
    "MESOS_HTTP",
    "MESOS_HTTPS",
];

impl HealthCheck {
    /// Checks Mesos runs (rather than Marathon itself); an app may have at most one.
    pub fn is_mesos_check(&self) -> bool {
        matches!(
            self.protocol.as_str(),
            "COMMAND" | "MESOS_TCP" | "MESOS_HTTP" | "MESOS_HTTPS"
        )
    }

    /// Checks that reach the task on one of its ports.
    pub fn uses_port(&self) -> bool {
        self.command.is_none()
            && matches!(
                self.protocol.as_str(),
                "HTTP" | "HTTPS" | "TCP" | "MESOS_HTTP" | "MESOS_TCP"
            )
    }
}

/// `readinessChecks[]`, with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessCheck {
    pub name: String,
    pub protocol: String,
    pub path: String,
    pub port_name: String,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub http_status_codes_for_ready: Vec<u32>,
    pub preserve_last_response: bool,
}
