//! What the plugins API and the plugin fanout need besides the core, set once at start.

use corral_plugin_host::engine::PluginEngine;
use corral_plugin_host::store::PluginStore;

use super::allocator_status::SharedStatus;
use super::plugin_reports::{ActiveSetCache, AgentPluginReports};

pub struct PluginPlatform {
    pub engine: PluginEngine,
    pub store: PluginStore,
    pub status: SharedStatus,
    /// What each agent loaded of the active set, and its plugin counters.
    pub agents: AgentPluginReports,
    /// The active set as last sent to agents.
    pub active_set: ActiveSetCache,
    /// The capability classes plugins may be given (`--plugin-capabilities-allowed`).
    pub capabilities: super::plugin_consent::CapabilityPolicy,
    /// How long an authorizer plugin's decisions are remembered (`--authorizer-cache-ttl`).
    pub authorizer_cache_ttl: std::time::Duration,
}
