//! The master: frameworks, agents, offers, tasks and the allocation loop.
//!
//! The flow:
//! - `core.rs` is a state machine (`MasterCore`): HTTP calls, agent messages and
//!   timers go in with an explicit `now`; effects come out (events for framework streams,
//!   commands for agent streams, registry writes) and allocator events are queued.
//!   Its methods are split by concern: `frameworks.rs`, `agents.rs`, `offers.rs`,
//!   `accept.rs` (+ `task_validation.rs`), `tasks.rs`, `calls.rs`, `views.rs`.
//! - `allocation.rs` owns the policy instance: each cycle it applies the queued events (or
//!   replays the whole state into a fresh instance after a poisoning error) and calls
//!   `allocate`; `offers.rs` checks every grant against the master's own accounting before
//!   it becomes an offer.
//! - `shell.rs` is the thin async layer: one lock over the core and the stream outlets,
//!   effect dispatch, the allocation loop (every interval and soon after changes) and the
//!   timer. `streams.rs`, `scheduler_api.rs`, `operator_api.rs`, `agent_api.rs` and
//!   `router.rs` are the HTTP surface; `registry.rs` reads and writes the StateStore.

use std::net::SocketAddr;
use std::time::Duration;

pub use corral_state::StateSpec;

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
}

mod accept;
mod agent_api;
mod agents;
pub mod allocation;
pub mod allocator_status;
mod calls;
pub mod core;
mod executor_messages;
mod frameworks;
mod gone;
mod hooks;
pub mod hot_swap;
pub mod leader;
mod offers;
mod operator_api;
pub mod partitions;
mod plugin_fanout;
mod plugins_api;
mod quota;
pub mod registry;
mod reservations;
pub mod roles;
mod router;
mod scheduler_api;
pub mod shell;
mod streams;
mod task_validation;
mod tasks;
mod views;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use corral_api::v1::{Address, MasterInfo};
use corral_plugin_host::allocator::AllocatorFactory;
use corral_plugin_host::engine::PluginLimits;
use corral_plugin_host::store::{ActiveAllocator, PluginStore};
use corral_state::StateStore;

use self::core::MasterCore;
use allocation::AllocatorDriver;
use shell::Shared;

#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error(transparent)]
    Listen(#[from] corral_http::listen::ListenError),
    #[error(transparent)]
    State(#[from] corral_state::StateError),
    #[error(transparent)]
    Plugin(#[from] corral_plugin_host::PluginError),
}

/// A running master. Dropping it does not stop it; call `shutdown`.
pub struct MasterHandle {
    /// The address actually bound (the port may have been 0).
    pub addr: SocketAddr,
    stopper: Stopper,
    server: tokio::task::JoinHandle<()>,
}

/// What `shutdown` stops: the one core of a single master, or an elected master's
/// campaign and whatever core it runs.
enum Stopper {
    Single(Arc<Shared>),
    Elected(Arc<leader::Leadership>),
}

impl MasterHandle {
    /// Resolves when the master stops (it normally runs until the process ends).
    pub async fn wait(self) {
        if let Err(error) = self.server.await {
            tracing::error!(%error, "the master's HTTP server task failed");
        }
    }

    /// Serves until `signal` resolves, then shuts down and waits a moment for that (an
    /// elected master resigns its term, so another leads at once). False when the server
    /// stopped by itself first.
    pub async fn serve_until(mut self, signal: impl std::future::Future<Output = ()>) -> bool {
        tokio::select! {
            result = &mut self.server => {
                if let Err(error) = result {
                    tracing::error!(%error, "the master's HTTP server task failed");
                }
                return false;
            }
            () = signal => {}
        }
        self.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(3), &mut self.server).await;
        true
    }

    /// Stops serving: every stream ends, the loops stop, nothing more is written to the
    /// registry. Frameworks and agents are not treated as disconnected (a restarted master
    /// on the same registry takes them back).
    pub fn shutdown(&self) {
        match &self.stopper {
            Stopper::Single(shared) => shared.stop(),
            Stopper::Elected(leadership) => leadership.stop(),
        }
    }
}

pub use partitions::PartitionConfig;

/// Starts the master's HTTP server and allocation loop (agents pinged as Mesos does by
/// default), with its own plugin engine for installs and hot swaps.
pub async fn run(
    config: MasterConfig,
    allocator: AllocatorFactory,
    store: Arc<dyn StateStore>,
) -> Result<MasterHandle, MasterError> {
    run_with(config, PartitionConfig::default(), allocator, store).await
}

/// [`run`] with how agents are pinged.
pub async fn run_with(
    config: MasterConfig,
    partitions: PartitionConfig,
    allocator: AllocatorFactory,
    store: Arc<dyn StateStore>,
) -> Result<MasterHandle, MasterError> {
    let engine = corral_plugin_host::PluginEngine::new()?;
    run_with_engine(config, partitions, allocator, store, engine).await
}

/// As [`run_with`], with the plugin engine to load installed plugins and swapped-in
/// allocators with. If the store names an active allocator (a swap made before a restart),
/// the master comes back with it; `allocator` is used when there is none or it cannot be
/// loaded.
pub async fn run_with_engine(
    config: MasterConfig,
    partitions: PartitionConfig,
    allocator: AllocatorFactory,
    store: Arc<dyn StateStore>,
    engine: corral_plugin_host::PluginEngine,
) -> Result<MasterHandle, MasterError> {
    let (listener, addr) = corral_http::listen::bind(config.listen).await?;

    let shared = start_core(&config, partitions, allocator, store, addr, engine).await?;
    let app = router::router(shared.clone());
    let mut stop = shared.stop_signal();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        corral_http::serve(listener, app, stopped, "master").await;
    });
    tracing::info!(%addr, "master listening");
    Ok(MasterHandle {
        addr,
        stopper: Stopper::Single(shared),
        server,
    })
}

/// Loads the registry into a fresh core and starts the allocation and timer loops: what a
/// single master does at start and an elected one each time it wins.
pub(crate) async fn start_core(
    config: &MasterConfig,
    partitions: PartitionConfig,
    allocator: AllocatorFactory,
    store: Arc<dyn StateStore>,
    addr: SocketAddr,
    engine: corral_plugin_host::PluginEngine,
) -> Result<Arc<Shared>, MasterError> {
    let mut core = MasterCore::new(master_info(&config.hostname, addr));
    core.hooks = config.hooks.clone();
    let loading = std::time::Instant::now();
    let recovered = registry::load(store.as_ref()).await?;
    let now = shell::now_ms();
    tracing::info!(
        frameworks = recovered.frameworks.len(),
        agents = recovered.agents.len(),
        ms = loading.elapsed().as_millis() as u64,
        "registry loaded"
    );
    core.recover_weights(recovered.weights);
    core.recover_quotas(recovered.quotas);
    core.recover_reservations(recovered.reservations);
    for framework in recovered.frameworks {
        core.recover_framework(now, framework);
    }
    for agent in recovered.agents {
        core.recover_agent(now, agent);
    }
    for agent_id in recovered.gone {
        core.recover_gone(agent_id);
    }
    for agent_id in recovered.unreachable {
        core.recover_unreachable(agent_id);
    }
    // The first instance is made off the async threads: instantiating a component may take
    // a moment.
    let plugin_store = PluginStore::new(store.clone());
    let (allocator, identity) =
        persisted_allocator(&plugin_store, &engine, allocator, &config.allocator).await;
    let mut driver = tokio::task::spawn_blocking(move || AllocatorDriver::new(allocator))
        .await
        .map_err(|e| corral_plugin_host::PluginError::Instantiate {
            plugin: "allocator".into(),
            reason: e.to_string(),
        })??;
    driver.set_identity(identity);
    let platform = plugins_api::PluginPlatform {
        engine,
        store: plugin_store,
        status: driver.status(),
        agents: Default::default(),
        active_set: Default::default(),
    };

    let writer = registry::spawn_writer(store);
    let shared = Shared::new(
        core,
        driver,
        writer,
        config.heartbeat_interval,
        config.allocation_interval,
    );
    if shared.plugins.set(platform).is_err() {
        tracing::warn!("the plugin platform was already set");
    }
    tokio::spawn(shared.clone().allocation_loop());
    tokio::spawn(shared.clone().timer_loop());
    tokio::spawn(partitions::ping_loop(shared.clone(), partitions));
    Ok(shared)
}

/// The allocator persisted by an earlier hot swap, if there is one and it loads; else the
/// one the master was started with.
async fn persisted_allocator(
    store: &PluginStore,
    engine: &corral_plugin_host::PluginEngine,
    given: AllocatorFactory,
    given_name: &str,
) -> (AllocatorFactory, ActiveAllocator) {
    let started_with = ActiveAllocator {
        plugin: given_name.to_string(),
        config: String::new(),
    };
    let active = match store.active_allocator().await {
        Ok(Some(active)) if active != started_with => active,
        Ok(_) => return (given, started_with),
        Err(error) => {
            tracing::error!(%error, "cannot read the persisted allocator; using the given one");
            return (given, started_with);
        }
    };
    let resolved = match store.resolve(&active.plugin).await {
        Ok(resolved) => resolved,
        Err(error) => {
            tracing::error!(%error, allocator = %active.plugin,
                "the persisted allocator cannot be found; using the given one");
            return (given, started_with);
        }
    };
    let limits = resolved
        .manifest
        .as_ref()
        .map_or(PluginLimits::ALLOCATOR, |m| {
            m.limits(PluginLimits::ALLOCATOR)
        });
    let engine = engine.clone();
    let config = active.config.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        engine.allocator_factory_from_bytes(&resolved.name, &resolved.bytes, &config, limits)
    })
    .await;
    match loaded {
        Ok(Ok(factory)) => {
            tracing::info!(allocator = %active.plugin, "running the persisted allocator");
            (factory, active)
        }
        Ok(Err(error)) => {
            tracing::error!(%error, allocator = %active.plugin,
                "the persisted allocator does not load; using the given one");
            (given, started_with)
        }
        Err(error) => {
            tracing::error!(%error, "loading the persisted allocator failed");
            (given, started_with)
        }
    }
}

/// `MasterInfo` as Mesos fills it: `ip` is the IPv4 address as the C `in_addr` reads on a
/// little-endian host (127.0.0.1 is 16777343).
fn master_info(hostname: &str, addr: SocketAddr) -> MasterInfo {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()),
        std::net::IpAddr::V6(_) => 0,
    };
    MasterInfo {
        id: uuid::Uuid::new_v4().to_string(),
        ip,
        port: u32::from(addr.port()),
        hostname: Some(hostname.to_string()),
        version: Some(corral_api::VERSION.to_string()),
        address: Some(Address {
            hostname: Some(hostname.to_string()),
            ip: Some(addr.ip().to_string()),
            port: u32::from(addr.port()),
        }),
    }
}
