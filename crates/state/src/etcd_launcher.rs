//! A local one-member `etcd` on free loopback ports, in a data dir the caller gives, killed
//! on drop: for `corral bench failover` and the tests (one launcher, not a copy in each).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::StateError;
use super::loopback_port::free_loopback_port;

/// How long etcd may take to be ready on its client port.
const START_PATIENCE: Duration = Duration::from_secs(20);

/// A member's TLS on its client port: its certificate and key, and the CA whose client
/// certificates it requires (`--client-cert-auth`).
#[derive(Debug, Clone)]
pub struct MemberTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

pub struct LocalEtcd {
    child: Child,
    /// `127.0.0.1:PORT`, its client endpoint.
    pub endpoint: String,
    /// Its stderr, quoted when it exits at start.
    log: PathBuf,
}

/// A free port for the client endpoint of an etcd in `dir`.
fn client_port(dir: &Path) -> Result<u16, StateError> {
    free_loopback_port().map_err(|e| StateError::Open {
        location: format!("a local etcd in {}", dir.display()),
        reason: format!("no free port: {e}"),
    })
}

impl LocalEtcd {
    /// Starts etcd with its data under `dir/data` and its log in `dir/etcd.log`, and waits
    /// until it is ready (see [`LocalEtcd::wait_ready`]).
    pub fn start(dir: &Path) -> Result<LocalEtcd, StateError> {
        Self::start_at(dir, client_port(dir)?)
    }

    /// [`LocalEtcd::start`] with its client endpoint on `127.0.0.1:client` (e.g. a port a
    /// master was already told to use).
    pub fn start_at(dir: &Path, client: u16) -> Result<LocalEtcd, StateError> {
        Self::launch(dir, client, None)
    }

    /// [`LocalEtcd::start`] serving TLS on its client port and requiring client
    /// certificates of `tls.client_ca`.
    pub fn start_tls(dir: &Path, tls: &MemberTls) -> Result<LocalEtcd, StateError> {
        Self::launch(dir, client_port(dir)?, Some(tls))
    }

    fn launch(dir: &Path, client: u16, tls: Option<&MemberTls>) -> Result<LocalEtcd, StateError> {
        let fail = |reason: String| StateError::Open {
            location: format!("a local etcd in {}", dir.display()),
            reason,
        };
        let peer = free_loopback_port().map_err(|e| fail(format!("no free port: {e}")))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let log_path = dir.join("etcd.log");
        let log = std::fs::File::create(&log_path).map_err(|e| fail(e.to_string()))?;
        let mut command = Command::new("etcd");
        if let Some(tls) = tls {
            command
                .arg("--cert-file")
                .arg(&tls.cert)
                .arg("--key-file")
                .arg(&tls.key)
                .arg("--trusted-ca-file")
                .arg(&tls.client_ca)
                .arg("--client-cert-auth");
        }
        let child = command
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--name", "default"])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("default={peer_url}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot start `etcd` ({e}): run scripts/setup.sh to install etcd-server"
                ))
            })?;
        let mut etcd = LocalEtcd {
            child,
            endpoint: format!("127.0.0.1:{client}"),
            log: log_path,
        };
        etcd.wait_ready(tls.is_none()).map_err(fail)?;
        Ok(etcd)
    }

    /// Waits until etcd accepts connections on its client port and, over plain http, says
    /// it is healthy: it listens before it has elected itself, and a first request until then
    /// waits (a lease grant with a short timeout would fail).
    fn wait_ready(&mut self, plain: bool) -> Result<(), String> {
        let deadline = Instant::now() + START_PATIENCE;
        let ready = |endpoint: &str| {
            if plain {
                says_healthy(endpoint)
            } else {
                std::net::TcpStream::connect(endpoint).is_ok()
            }
        };
        while !ready(&self.endpoint) {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let last = log.lines().last().unwrap_or("(its log is empty)");
                return Err(format!("etcd exited at start ({status}): {last}"));
            }
            if Instant::now() > deadline {
                return Err(format!("etcd was not ready within {START_PATIENCE:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// Whether etcd at `endpoint` answers `GET /health` with `"health":"true"` (a blocking
/// HTTP/1.0 exchange; called while starting, off any async runtime).
fn says_healthy(endpoint: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(endpoint) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET /health HTTP/1.0\r\nHost: {endpoint}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.take(4096).read_to_string(&mut answer);
    answer.contains(r#""health":"true""#)
}

impl Drop for LocalEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
