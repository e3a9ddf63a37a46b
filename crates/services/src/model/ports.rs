//! `portDefinitions` entries and `fetch` artifacts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A port the app needs on its host. `port` is the service port (assigned from the service
/// port range when 0 is asked for); the host port comes from the offer unless
/// `requirePorts` asks for `port` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortDefinition {
    pub port: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub protocol: String,
}

impl PortDefinition {
    /// What an app without port definitions gets: one port named `default`.
    pub fn default_port() -> Self {
        PortDefinition {
            port: 0,
            labels: BTreeMap::new(),
            name: Some("default".to_string()),
            protocol: "tcp".to_string(),
        }
    }
}

/// A file the agent's fetcher puts into the sandbox before the task starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub uri: String,
    pub extract: bool,
    pub executable: bool,
    pub cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_path: Option<String>,
}

/// Extensions the Mesos fetcher unpacks; a deprecated `uris` entry is extracted when it has
/// one (Marathon's `FetchUri.isExtract`).
pub fn is_archive(uri: &str) -> bool {
    [
        ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip",
    ]
    .iter()
    .any(|ext| uri.ends_with(ext))
}
