//! A real single-member `etcd` for end-to-end tests: free loopback ports, a temp data dir,
//! killed on drop. A missing `etcd` binary fails the test with the fix.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub struct Etcd {
    child: Child,
    /// `127.0.0.1:PORT` of the client URL.
    pub endpoint: String,
    pub dir: tempfile::TempDir,
}

impl Etcd {
    pub fn start() -> Etcd {
        let dir = tempfile::tempdir().expect("temp dir for etcd");
        let client = free_port();
        let peer = free_port();
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).expect("etcd log file");
        let child = Command::new("etcd")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
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
            .unwrap_or_else(|e| {
                panic!("cannot start `etcd` ({e}): run scripts/setup.sh to install etcd-server")
            });
        let mut etcd = Etcd {
            child,
            endpoint: format!("127.0.0.1:{client}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&etcd.endpoint).is_err() {
            if let Ok(Some(status)) = etcd.child.try_wait() {
                panic!("etcd exited at start ({status}): {}", etcd.log_text());
            }
            assert!(Instant::now() < deadline, "etcd did not listen within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        etcd
    }

    /// The `--state` value for a master using this etcd.
    pub fn state_url(&self) -> String {
        format!("etcd://{}", self.endpoint)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
