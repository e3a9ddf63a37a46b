//! Starting a master: the registry loaded into a fresh core, the allocation, timer and
//! agent ping loops, and (for a single master) the HTTP server. An elected master
//! (`leader.rs`) starts a core the same way each time it wins.

use std::net::SocketAddr;
use std::sync::Arc;

use corral_api::v1::{Address, MasterInfo};
use corral_plugin_host::allocator::AllocatorFactory;
use corral_plugin_host::engine::PluginLimits;
use corral_plugin_host::store::{ActiveAllocator, PluginStore};
use corral_state::StateStore;

use super::agent_pings::{PartitionConfig, ping_loop};
use super::allocation::AllocatorDriver;
use super::config::{MasterConfig, MasterError};
use super::core::MasterCore;
use super::handle::MasterHandle;
use super::plugin_platform::PluginPlatform;
use super::shell::{Shared, now_ms};
use super::v0_state::MasterFacts;
use super::{authorizer_plugin, registry, router};

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

    let (shared, facts) = start_core(
        &config,
        partitions,
        allocator,
        store,
        addr,
        engine,
        now_ms(),
    )
    .await?;
    let scheme = crate::redirect::scheme(config.tls.as_ref());
    let app = router::router(
        shared.clone(),
        Arc::new(facts),
        config.upstreams.clone(),
        config.agent_tls.as_ref(),
        scheme,
    );
    let auth = config.auth.for_server(crate::auth_realms::classify);
    let tls = config.tls.clone();
    let mut stop = shared.stop_signal();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        corral_http::serve(listener, tls.as_ref(), app, auth, stopped, "master").await;
    });
    tracing::info!(%addr, "master listening");
    Ok(MasterHandle::new(
        addr,
        Box::new(move || shared.stop()),
        server,
    ))
}

/// What `/master/state` says of this master beside the core's state: when it started and
/// was elected (now), and its settings under the names of the Mesos flags they stand for,
/// with Mesos' duration syntax.
fn master_facts(
    config: &MasterConfig,
    partitions: PartitionConfig,
    start_ms: u64,
    addr: SocketAddr,
) -> MasterFacts {
    let flags = [
        ("hostname", config.hostname.clone()),
        ("ip", addr.ip().to_string()),
        ("port", addr.port().to_string()),
        ("allocator", config.allocator.clone()),
        (
            "allocation_interval",
            mesos_duration(config.allocation_interval),
        ),
        (
            "agent_ping_timeout",
            mesos_duration(partitions.ping_timeout),
        ),
        (
            "max_agent_ping_timeouts",
            partitions.max_ping_timeouts.to_string(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    MasterFacts {
        start_ms,
        elected_ms: now_ms(),
        flags,
        cluster_id: String::new(),
        public_ip: if addr.ip().is_unspecified() {
            config.hostname.clone()
        } else {
            addr.ip().to_string()
        },
    }
}

/// A duration as stout's `Duration` prints it: the largest unit it reaches (`200ms`,
/// `15secs`, `1mins`).
fn mesos_duration(duration: std::time::Duration) -> String {
    let nanos = duration.as_nanos() as f64;
    const UNITS: [(&str, f64); 8] = [
        ("weeks", 604_800e9),
        ("days", 86_400e9),
        ("hrs", 3_600e9),
        ("mins", 60e9),
        ("secs", 1e9),
        ("ms", 1e6),
        ("us", 1e3),
        ("ns", 1.0),
    ];
    for (unit, size) in UNITS {
        if nanos >= size {
            return format!("{}{unit}", nanos / size);
        }
    }
    "0ns".to_string()
}

/// Loads the registry into a fresh core and starts the allocation and timer loops: what a
/// single master does at start and an elected one each time it wins. Also what
/// `/master/state` and `/metadata` say of this master (`start_ms`: when it started serving).
pub(crate) async fn start_core(
    config: &MasterConfig,
    partitions: PartitionConfig,
    allocator: AllocatorFactory,
    store: Arc<dyn StateStore>,
    addr: SocketAddr,
    engine: corral_plugin_host::PluginEngine,
    start_ms: u64,
) -> Result<(Arc<Shared>, MasterFacts), MasterError> {
    let mut core = MasterCore::new(master_info(&config.hostname, addr));
    let loading = std::time::Instant::now();
    let recovered = registry::load(store.as_ref()).await?;
    let cluster_id = registry::cluster_id(store.as_ref()).await?;
    let now = now_ms();
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
    for (agent_id, principal) in recovered.agent_principals {
        core.recover_agent_principal(&agent_id, principal);
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
    let platform = PluginPlatform {
        engine,
        store: plugin_store,
        status: driver.status(),
        agents: Default::default(),
        active_set: Default::default(),
        capabilities: config.plugin_capabilities.clone(),
        authorizer_cache_ttl: config.authorizer_cache_ttl,
    };

    let writer = registry::spawn_writer(store);
    let shared = Shared::new(
        core,
        driver,
        writer,
        config.hooks.clone(),
        config.heartbeat_interval,
        config.allocation_interval,
    );
    if let Some(authorizer) = &config.authorizer {
        shared.set_authorizer(authorizer.clone());
    }
    authorizer_plugin::restore(&shared, &platform)
        .await
        .map_err(MasterError::Authorizer)?;
    if shared.plugins.set(platform).is_err() {
        tracing::warn!("the plugin platform was already set");
    }
    tokio::spawn(shared.clone().allocation_loop());
    tokio::spawn(shared.clone().timer_loop());
    tokio::spawn(ping_loop(
        shared.clone(),
        partitions,
        config.agent_tls.clone(),
    ));
    let mut facts = master_facts(config, partitions, start_ms, addr);
    facts.cluster_id = cluster_id;
    Ok((shared, facts))
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
