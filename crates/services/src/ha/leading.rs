//! A services instance that leads: the world loaded from the store, the scheduler driver and
//! the health checks acting on it, and the API's router over it. Stopped when the term ends.

use std::sync::Arc;

use axum::Router;
use tokio::task::JoinHandle;

use corral_state::{StateError, StateStore};

use crate::services::{Services, ServicesConfig};
use crate::store::ServiceStore;
use crate::{health, http, scheduler};

pub struct Leading {
    pub services: Arc<Services>,
    pub router: Router,
    driver: JoinHandle<()>,
    checks: JoinHandle<()>,
}

impl Leading {
    /// Reads everything stored and starts acting on it.
    pub async fn start(
        config: ServicesConfig,
        state: Arc<dyn StateStore>,
    ) -> Result<Leading, StateError> {
        let store = ServiceStore::new(state);
        let loaded = store.load().await?;
        tracing::info!(
            apps = loaded.apps.len(),
            tasks = loaded.tasks.len(),
            deployments = loaded.deployments.len(),
            framework = ?loaded.framework_id,
            "services: state loaded"
        );
        let services = Arc::new(Services::new(config, store, loaded));
        let driver = tokio::spawn(scheduler::driver::run(services.clone()));
        let checks = tokio::spawn(health::runner::run(services.clone()));
        let router = http::router(services.clone());
        Ok(Leading {
            services,
            router,
            driver,
            checks,
        })
    }

    /// Stops scheduling and checking (the framework's tasks keep running on the agents).
    pub fn stop(&self) {
        self.driver.abort();
        self.checks.abort();
    }
}
