//! How a master is started, and why it may fail to start.

use std::net::SocketAddr;
use std::time::Duration;

use corral_state::StateSpec;

#[derive(Debug, Clone)]
pub struct MasterConfig {
    pub listen: SocketAddr,
    pub hostname: String,
    pub state: StateSpec,
    /// A built-in allocator name ("drf") or a path to a `.wasm` component.
    pub allocator: String,
    pub allocation_interval: Duration,
    pub heartbeat_interval: Duration,
    /// Hooks run at `on-launch` and `on-agent-register` (empty: none).
    pub hooks: corral_plugin_host::hook_chain::HookChain,
    /// Components the cluster URL proxies to at a given address (`/mesos_dns/`).
    pub upstreams: crate::upstreams::Upstreams,
    /// Who may call (`--credentials`, `--tokens`, `--authenticate-*`); open by default.
    pub auth: corral_http::auth::AuthConfig,
    /// Who may do what (`--acls`); `None`: everything is allowed.
    pub authorizer: Option<std::sync::Arc<dyn corral_authz::Authorizer>>,
    /// How long an authorizer plugin's decisions are remembered (zero: not at all).
    pub authorizer_cache_ttl: Duration,
    /// The capability classes plugins may be given (`--plugin-capabilities-allowed`).
    pub plugin_capabilities: crate::plugin_consent::CapabilityPolicy,
    /// Serve over TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`); plain HTTP if `None`.
    pub tls: Option<corral_http::ServerTls>,
    /// What the master trusts and presents calling agents that serve https (pings, the
    /// cluster URL's `/agent/{id}/`): `--agent-ca` (else `--tls-client-ca`) and the master's
    /// own `--tls-cert`/`--tls-key`. `None`, or no CA in it: such agents cannot be verified,
    /// so they are not called (`agent_clients.rs`).
    pub agent_tls: Option<corral_client::ClientTls>,
}

#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error(transparent)]
    Listen(#[from] corral_http::listen::ListenError),
    #[error(transparent)]
    State(#[from] corral_state::StateError),
    #[error(transparent)]
    Plugin(#[from] corral_plugin_host::PluginError),
    #[error("{0}")]
    Authorizer(String),
}
