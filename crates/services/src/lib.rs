//! Corral's services component: Marathon's REST API v2 (as Marathon 1.4-1.6 defines it) on
//! a framework that keeps each app's tasks running. It is a framework like any other: it
//! talks to the master over the v1 scheduler API, keeps its state in a `StateStore` (one key
//! per app, per app version and per task), and serves HTTP through `corral_http`.
//!
//! The layers, each using only the ones before it: the app model and its parser (`model`,
//! `parse`), the world and the scheduler's decisions as pure functions (`world`,
//! `scheduler::plan`, `scheduler::place`), storage (`store`), the changes the API makes
//! (`app_ops`), and the I/O: the scheduler driver and the HTTP API.

pub mod app_ops;
pub mod deployments;
pub mod events;
pub mod groups;
pub mod ha;
pub mod health;
pub mod http;
pub mod model;
pub mod op_error;
pub mod parse;
pub mod path_id;
pub mod scheduler;
pub mod services;
pub mod store;
pub mod stored_form;
pub mod tasks;
pub mod time;
pub mod validation;
pub mod world;
pub mod world_health;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::Notify;

use corral_state::{Election, EtcdStore, StateError, StateStore};

pub use http::access::ENFORCED as ENFORCED_ACTIONS;
pub use services::{Services, ServicesConfig};

#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error("cannot read the services state: {0}")]
    Store(#[from] StateError),
    #[error(transparent)]
    Listen(#[from] corral_http::listen::ListenError),
}

/// A running services component. Dropping it does not stop it; call `shutdown`.
pub struct ServicesHandle {
    /// The address the API is bound to (the port may have been 0).
    pub addr: SocketAddr,
    /// Whether it leads, and its world when it does.
    pub mode: Arc<ha::Mode>,
    server: tokio::task::JoinHandle<()>,
    /// The campaign and the leader poll of an elected instance.
    election: Vec<tokio::task::JoinHandle<()>>,
    stop: Arc<Notify>,
}

impl ServicesHandle {
    /// Resolves when the HTTP server stops.
    pub async fn wait(&mut self) {
        if let Err(error) = (&mut self.server).await {
            tracing::error!(%error, "the services HTTP server task failed");
        }
        self.shutdown();
    }

    /// Stops serving and scheduling. The framework stays registered with the master (its
    /// tasks keep running for the failover timeout), so a new services process takes over.
    pub fn shutdown(&self) {
        self.stop.notify_one();
        for task in &self.election {
            task.abort();
        }
        self.mode.set_leading(None);
    }
}

/// One instance alone on its store: reads the stored state, binds the API and leads.
pub async fn run(
    mut config: ServicesConfig,
    state: Arc<dyn StateStore>,
) -> Result<ServicesHandle, ServicesError> {
    let (listener, addr) = corral_http::listen::bind(config.listen).await?;
    config.listen = addr;
    let mode = ha::Mode::served(
        format!("{}:{}", config.hostname, addr.port()),
        config.tls.is_some(),
        config.master_tls.as_ref(),
    );
    let auth = config.auth.for_server(http::auth_realms::classify);
    let tls = config.tls.clone();
    mode.set_leading(Some(ha::leading::Leading::start(config, state).await?));
    Ok(serve(listener, tls, addr, mode, auth, Vec::new()))
}

/// One of several instances on an etcd store: binds the API at once (following: calls are
/// proxied to the leader) and campaigns; leads while elected.
pub async fn run_elected(
    mut config: ServicesConfig,
    store: EtcdStore,
    election: Election,
) -> Result<ServicesHandle, ServicesError> {
    let (listener, addr) = corral_http::listen::bind(config.listen).await?;
    config.listen = addr;
    let mode = ha::Mode::served(
        format!("{}:{}", config.hostname, addr.port()),
        config.tls.is_some(),
        config.master_tls.as_ref(),
    );
    let election = Arc::new(election);
    let auth = config.auth.for_server(http::auth_realms::classify);
    let tls = config.tls.clone();
    let tasks = vec![
        tokio::spawn(ha::campaign(mode.clone(), config, store, election.clone())),
        tokio::spawn(ha::follow(mode.clone(), election)),
    ];
    Ok(serve(listener, tls, addr, mode, auth, tasks))
}

fn serve(
    listener: corral_http::listen::Acceptor,
    tls: Option<corral_http::ServerTls>,
    addr: SocketAddr,
    mode: Arc<ha::Mode>,
    auth: corral_http::auth::HttpAuth,
    election: Vec<tokio::task::JoinHandle<()>>,
) -> ServicesHandle {
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let router = ha::router(mode.clone());
    // Every connection's peer is recorded (`PeerAddr`): the events' client addresses.
    let server = tokio::spawn(async move {
        corral_http::serve(listener, tls.as_ref(), router, auth, stopped, "services").await;
    });
    ServicesHandle {
        addr,
        mode,
        server,
        election,
        stop,
    }
}
