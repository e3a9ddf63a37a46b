//! How the agent is configured: its command line as the binary gives it, and the timings
//! tests shorten.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::disk_watch::DiskQuotaConfig;
use super::fetcher::FetcherConfig;
use super::log_rotation::LogRotation;

/// Mesos' `--executor_registration_timeout` default: how long an HTTP executor may take to
/// subscribe before it is killed and its tasks fail.
pub const DEFAULT_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Mesos' `--executor_reregistration_timeout` default: how long a restarted agent waits for
/// the executors it found running to subscribe again.
pub const DEFAULT_REREGISTRATION_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// "host:port" of the master, or several comma-separated (HA: the leader is followed).
    pub master: String,
    pub listen: SocketAddr,
    pub hostname: String,
    pub work_dir: PathBuf,
    /// `--resources` text; detected from the machine when absent.
    pub resources: Option<String>,
    /// `--attributes` text.
    pub attributes: Option<String>,
    /// A built-in executor name ("command") or a path to a `.wasm` component.
    pub executor: String,
    /// How long to wait for an acknowledgement before resending a status update.
    pub status_update_retry: Duration,
    /// cgroups or posix, and the cgroup parent and pids limit.
    pub isolation: corral_cgroups::IsolationConfig,
    /// Hooks run at `on-run` and `on-status` (empty: none).
    pub hooks: corral_plugin_host::hook_chain::HookChain,
    /// Isolator plugins (`--isolator`), asked for resources at start and for a launch plan
    /// before each task.
    pub isolators: corral_plugin_host::isolator::IsolatorSet,
    /// `--recover` and the binary that supervises tasks.
    pub recovery: RecoveryConfig,
    /// How long an HTTP executor may take to subscribe before it is killed and its tasks
    /// fail (Mesos' `--executor_registration_timeout`).
    pub executor_registration_timeout: Duration,
    /// Run each task as its user (its command's, else its framework's; `run_as.rs`); off:
    /// as the agent's (Mesos' `--switch_user`).
    pub switch_user: bool,
    /// A task process that runs as root gets its own PID and mount namespaces
    /// (`task_namespaces.rs`); off: it shares the agent's.
    pub root_namespaces: bool,
    /// The engine (and signature trust policy) that loads plugins activated on the master;
    /// `None`: a default engine, made when the first one arrives.
    pub plugin_engine: Option<corral_plugin_host::PluginEngine>,
    /// The fetcher's size cap on a task's URIs.
    pub fetcher: FetcherConfig,
    /// How often sandboxes are measured, and whether a task past its `disk` is killed
    /// (`--container-disk-watch-interval`, `--enforce-container-disk-quota`).
    pub disk_quota: DiskQuotaConfig,
    /// The cap on each task's stdout and stderr files and the rotated files kept
    /// (`--container-logger-max-size`, `--container-logger-max-files`).
    pub container_logger: LogRotation,
    /// The principal and secret the agent presents to the master (`--credential`).
    pub credential: Option<corral_http::auth::Credential>,
    /// Who may call the agent's own HTTP API (`--http-credentials`, `--authenticate-*`).
    pub auth: corral_http::auth::AuthConfig,
    /// Who may read which sandboxes (`--acls`: `access_sandboxes`); `None`: everyone.
    pub authorizer: Option<std::sync::Arc<dyn corral_authz::Authorizer>>,
    /// The key that signs executors' tokens (`--executor-secret-key`); `None`: one kept in
    /// the work dir.
    pub executor_secret_key: Option<PathBuf>,
    /// Serve the agent's API over TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    pub tls: Option<corral_http::ServerTls>,
    /// What the master is trusted and presented over https (`--tls-ca`,
    /// `--tls-client-cert`, `--tls-client-key`).
    pub master_tls: Option<corral_client::ClientTls>,
    /// What the masters' etcd is read over, with `--master etcd://` (`--etcd-ca`, ...).
    pub master_etcd_tls: Option<corral_client::EtcdTls>,
}

/// How tasks survive an agent restart.
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    pub mode: RecoverMode,
    /// The `corral` binary whose hidden `supervise` command runs each task, so that its exit
    /// status survives the agent. `None` runs tasks as the agent's direct children (the
    /// in-process tests): they are still reattached after a restart, but an exit while the
    /// agent is down is reported without its exit code.
    pub supervisor: Option<PathBuf>,
    /// How long a restarted agent waits for the HTTP executors it found running to
    /// subscribe again before it kills them (Mesos' `--executor_reregistration_timeout`).
    pub executor_reregistration_timeout: Duration,
}

impl Default for RecoveryConfig {
    fn default() -> RecoveryConfig {
        RecoveryConfig {
            mode: RecoverMode::default(),
            supervisor: None,
            executor_reregistration_timeout: DEFAULT_REREGISTRATION_TIMEOUT,
        }
    }
}

impl RecoveryConfig {
    /// Tasks supervised by this very binary.
    pub fn supervised_by_this_binary(mode: RecoverMode) -> RecoveryConfig {
        RecoveryConfig {
            mode,
            supervisor: std::env::current_exe().ok(),
            ..RecoveryConfig::default()
        }
    }
}

/// `--recover`: what a restarted agent does with the tasks it finds still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoverMode {
    /// Reattach to them and keep them running (Mesos' default).
    #[default]
    Reconnect,
    /// Kill them (TASK_KILLED) and clean up their containers.
    Cleanup,
}

impl std::str::FromStr for RecoverMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reconnect" => Ok(RecoverMode::Reconnect),
            "cleanup" => Ok(RecoverMode::Cleanup),
            other => Err(format!(
                "unknown --recover {other:?}: expected reconnect or cleanup"
            )),
        }
    }
}

impl std::fmt::Display for RecoverMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecoverMode::Reconnect => "reconnect",
            RecoverMode::Cleanup => "cleanup",
        })
    }
}

/// Timings that production takes from the protocol and tests shorten.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// A stream silent this long is taken as broken.
    pub stream_silence: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            stream_silence: Duration::from_secs(3 * corral_api::agent_protocol::PING_INTERVAL_SECS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recover_modes_parse() {
        assert_eq!("reconnect".parse(), Ok(RecoverMode::Reconnect));
        assert_eq!("cleanup".parse(), Ok(RecoverMode::Cleanup));
        assert!("keep".parse::<RecoverMode>().is_err());
    }
}
