//! [`Services`]: the state the HTTP API and the scheduler driver share — the world behind one
//! lock, the store, the configuration — and how they signal each other.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Mutex, Notify};

use crate::events::{Event, EventBus};
use crate::store::{Loaded, ServiceStore};
use crate::time::{Timestamp, now_ms};
use crate::world::World;

/// How the services component is set up.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    /// The master(s), as `--master` takes them: `HOST:PORT`, a list, or `etcd://...`.
    pub master: String,
    /// Where the API listens (port 0 picks one).
    pub listen: SocketAddr,
    /// The hostname this instance advertises (`/v2/leader`, `/v2/info`).
    pub hostname: String,
    /// The role the framework subscribes with (`*` by default).
    pub role: String,
    /// The framework's user (tasks run as the app's `user` when it names one).
    pub user: String,
    /// The framework's name: `marathon`, so tools that look for Marathon's find it.
    pub framework_name: String,
    /// Where state is kept, as given (`file://...`, `etcd://...`), for `/v2/info`.
    pub state_description: String,
    /// The principal and secret presented to the master (`--credential`); the framework
    /// registers as that principal.
    pub credential: Option<corral_http::auth::Credential>,
    /// Who may call the Marathon API (`--credentials`, `--tokens`, `--authenticate-*`).
    pub auth: corral_http::auth::AuthConfig,
    /// Who may manage and view which apps (`--acls`: `manage_apps`, `view_apps`); allows
    /// everything by default.
    pub authorizer: std::sync::Arc<dyn corral_authz::Authorizer>,
    /// Serve the API over TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    pub tls: Option<corral_http::ServerTls>,
    /// What the master is trusted and presented over https (`--tls-ca`, ...).
    pub master_tls: Option<corral_client::ClientTls>,
    /// What the masters' etcd is read over, with `--master etcd://` (`--etcd-ca`, ...).
    pub master_etcd_tls: Option<corral_client::EtcdTls>,
}

impl ServicesConfig {
    /// A week, as Marathon's `--failover_timeout`: the master keeps the tasks that long
    /// while no services process is subscribed.
    pub const FAILOVER_TIMEOUT_SECONDS: f64 = 604_800.0;
    pub const DEFAULT_PORT: u16 = 8080;
}

pub struct Services {
    pub config: ServicesConfig,
    pub store: ServiceStore,
    pub world: Mutex<World>,
    /// What `/v2/events` streams.
    pub events: EventBus,
    /// The address the API is reachable on (`hostname:port`), once bound.
    pub advertised: std::sync::Mutex<String>,
    framework_id: std::sync::Mutex<Option<String>>,
    /// Wakes the driver: an app changed or a task was asked to die.
    wake: Notify,
    /// Set when new tasks are wanted, so the driver revives offers it declined.
    revive: AtomicBool,
    last_version_ms: AtomicU64,
    /// When this instance started (ms), for `/metrics`' uptime.
    pub started_ms: u64,
}

impl Services {
    pub fn new(config: ServicesConfig, store: ServiceStore, loaded: Loaded) -> Services {
        let mut world = World::default();
        for app in loaded.apps {
            world.apps.insert(app.id.clone(), app);
        }
        for mut task in loaded.tasks {
            // A kill asked before the restart is sent again at once.
            if task.kill_requested() {
                task.kill_requested_at = Some(crate::app_ops::KILL_NOT_SENT);
            }
            world.tasks.insert(task.id.clone(), task);
        }
        for deployment in loaded.deployments {
            world.deployments.insert(deployment.id.clone(), deployment);
        }
        for group in loaded.groups {
            world.groups.insert(group.id.clone(), group);
        }
        let advertised = format!("{}:{}", config.hostname, config.listen.port());
        Services {
            config,
            store,
            world: Mutex::new(world),
            events: EventBus::default(),
            advertised: std::sync::Mutex::new(advertised),
            framework_id: std::sync::Mutex::new(loaded.framework_id),
            wake: Notify::new(),
            revive: AtomicBool::new(true),
            last_version_ms: AtomicU64::new(0),
            started_ms: now_ms(),
        }
    }

    /// A new version: now, and always later than the last one given out.
    pub fn next_version(&self) -> Timestamp {
        let now = now_ms();
        let mut last = self.last_version_ms.load(Ordering::SeqCst);
        loop {
            let next = now.max(last + 1);
            match self.last_version_ms.compare_exchange(
                last,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Timestamp(next),
                Err(current) => last = current,
            }
        }
    }

    /// Tells the driver the apps changed; with `revive`, new tasks are wanted.
    pub fn changed(&self, revive: bool) {
        if revive {
            self.revive.store(true, Ordering::SeqCst);
        }
        self.wake.notify_one();
    }

    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Whether a revive was asked for since the last call.
    pub fn take_revive(&self) -> bool {
        self.revive.swap(false, Ordering::SeqCst)
    }

    /// Publishes an event to `/v2/events` subscribers (never waits).
    pub fn publish(&self, event: Event) {
        self.events.publish(event);
    }

    pub fn framework_id(&self) -> Option<String> {
        self.framework_id.lock().ok().and_then(|id| id.clone())
    }

    pub fn set_framework_id(&self, id: Option<String>) {
        if let Ok(mut current) = self.framework_id.lock() {
            *current = id;
        }
    }

    /// This instance's base URL: `https://` when it serves TLS (the master's gateway reaches
    /// `/service/marathon/` there).
    pub fn base_url(&self) -> String {
        let scheme = if self.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.advertised())
    }

    pub fn advertised(&self) -> String {
        self.advertised
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }
}
