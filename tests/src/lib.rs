//! Harness for Corral's end-to-end tests: real `corral` processes on free loopback ports, a
//! raw Mesos v1 scheduler client that speaks JSON exactly as other Mesos clients do (it does
//! not use Corral's own types, so it checks the wire format), and operator API helpers.

pub mod auth_files;
pub mod calls;
pub mod cluster;
pub mod dns;
pub mod etcd_cluster;
pub mod ha;
pub mod mesos_protobuf;
pub mod operator_stream;
pub mod registry_recovery;
pub mod scheduler;
pub mod services;
pub mod task_processes;

pub use cluster::{Cluster, Process, corral_bin, free_port, plugin_wasm};
pub use etcd_cluster::EtcdCluster;
pub use ha::{HaCluster, HaOptions};
pub use operator_stream::OperatorSubscriber;
pub use scheduler::{Framework, command_check, framework_info, operator, scalar, task};
pub use services::Services;

/// An HTTP client for the tests (reqwest's rustls takes ring's cryptography, installed first).
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("an HTTP client")
}

/// A client builder for the tests; see [`http_client`].
pub fn http_client_builder() -> reqwest::ClientBuilder {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        #[allow(deprecated)] // ring: see corral_http::tls (no aws-lc in the build)
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// GET `url` with [`http_client`].
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http_client().get(url).send().await
}

/// The venv's python with pymesos (scripts/setup.sh installs it: $CORRAL_PY_VENV, default
/// ~/.cache/corral/pyvenv).
pub fn python() -> std::path::PathBuf {
    let venv = std::env::var("CORRAL_PY_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").expect("HOME"))
                .join(".cache/corral/pyvenv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup.sh (it installs pymesos)",
        python.display()
    );
    python
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `secs` seconds with
/// `what` in the message.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sends `signal` to a process this test started (SIGSTOP, SIGCONT, SIGKILL...).
pub fn signal(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).expect("pid fits i32");
    // SAFETY: kill(2) on a child process this test started; no memory is touched.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}
