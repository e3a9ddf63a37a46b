//! How the master reaches an agent's HTTP API: plain http or https. Mesos has no such field
//! (with SSL on, its whole cluster speaks TLS); Corral's agents say it when they subscribe
//! (`AgentSubscribe::scheme`), so a cluster may mix them and older agents, which send
//! nothing, are http.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentScheme {
    /// Absent from a subscription: an agent that does not serve TLS, or one older than the
    /// field.
    #[default]
    Http,
    /// The agent serves its API over TLS only (`--tls-cert`, `--tls-key`).
    Https,
}

impl AgentScheme {
    /// `http` or `https`, as in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentScheme::Http => "http",
            AgentScheme::Https => "https",
        }
    }

    pub fn is_http(&self) -> bool {
        *self == AgentScheme::Http
    }

    /// `scheme://authority` followed by `path` (which starts with '/').
    pub fn url(self, authority: &str, path: &str) -> String {
        format!("{}://{authority}{path}", self.as_str())
    }
}

impl std::fmt::Display for AgentScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
