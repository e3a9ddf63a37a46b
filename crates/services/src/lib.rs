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

use corral_state::{StateError, StateStore};

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
    pub services: Arc<Services>,
    server: tokio::task::JoinHandle<()>,
    driver: tokio::task::JoinHandle<()>,
    checks: tokio::task::JoinHandle<()>,
    stop: Arc<Notify>,
}

impl ServicesHandle {
    /// Resolves when the HTTP server stops.
    pub async fn wait(&mut self) {
        if let Err(error) = (&mut self.server).await {
            tracing::error!(%error, "the services HTTP server task failed");
        }
        self.driver.abort();
        self.checks.abort();
    }

    /// Stops serving and scheduling. The framework stays registered with the master (its
    /// tasks keep running for the failover timeout), so a new services process takes over.
    pub fn shutdown(&self) {
        self.stop.notify_one();
        self.driver.abort();
        self.checks.abort();
    }
}

/// Reads the stored state, binds the API and starts the scheduler driver.
pub async fn run(
    mut config: ServicesConfig,
    state: Arc<dyn StateStore>,
) -> Result<ServicesHandle, ServicesError> {
    let store = store::ServiceStore::new(state);
    let loaded = store.load().await?;
    let (listener, addr) = corral_http::listen::bind(config.listen).await?;
    config.listen = addr;
    tracing::info!(
        apps = loaded.apps.len(),
        tasks = loaded.tasks.len(),
        framework = ?loaded.framework_id,
        "services: state loaded"
    );
    let services = Arc::new(Services::new(config, store, loaded));
    let driver = tokio::spawn(scheduler::driver::run(services.clone()));
    let checks = tokio::spawn(health::runner::run(services.clone()));
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let router = http::router(services.clone());
    let server = tokio::spawn(async move {
        // Served with each connection's peer, for the events' client addresses.
        let app = corral_http::stack(router)
            .into_make_service_with_connect_info::<http::client_addr::ClientAddr>();
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(%error, "the services HTTP server stopped");
        }
    });
    Ok(ServicesHandle {
        addr,
        services,
        server,
        driver,
        checks,
        stop,
    })
}
