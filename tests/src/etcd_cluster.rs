//! A real `etcd` cluster on loopback (one member for a plain etcd registry, three for the HA
//! tests): members can be killed with -9 and started again on their data dirs (so they
//! rejoin). [`EtcdCluster::start_tls`] serves TLS on the client port and requires client
//! certificates (as `--cert-file --key-file --trusted-ca-file --client-cert-auth`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

struct Member {
    name: String,
    client: String,
    peer: String,
    child: Option<Child>,
}

/// The members' TLS on their client ports: their certificate and key (for 127.0.0.1), and
/// the CA whose client certificates they require.
#[derive(Debug, Clone)]
pub struct EtcdTlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
    tls: Option<EtcdTlsFiles>,
    pub dir: tempfile::TempDir,
}

impl EtcdCluster {
    /// Starts `n` members and waits until every client port listens.
    pub fn start(n: usize) -> EtcdCluster {
        Self::launch(n, None)
    }

    /// [`EtcdCluster::start`] serving TLS on the client ports, requiring client
    /// certificates of `tls.client_ca`.
    pub fn start_tls(n: usize, tls: EtcdTlsFiles) -> EtcdCluster {
        Self::launch(n, Some(tls))
    }

    /// Starts the members, and starts them all again on fresh ports and data dirs should one
    /// exit before it listens (its port taken after the pick); the third such exit fails
    /// with the member's log.
    fn launch(n: usize, tls: Option<EtcdTlsFiles>) -> EtcdCluster {
        let mut attempt = 1;
        loop {
            let mut cluster = Self::spawn_all(n, tls.clone());
            let failed = (0..n).find_map(|i| cluster.wait_listening(i).err());
            match failed {
                None => return cluster,
                Some(reason) if attempt >= 3 => panic!("{reason}"),
                Some(reason) => {
                    eprintln!("etcd cluster, attempt {attempt}: {reason}; starting it again");
                    attempt += 1;
                }
            }
        }
    }

    fn spawn_all(n: usize, tls: Option<EtcdTlsFiles>) -> EtcdCluster {
        let dir = tempfile::tempdir().expect("temp dir for etcd");
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client: format!("127.0.0.1:{}", free_port()),
                peer: format!("http://127.0.0.1:{}", free_port()),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members,
            initial_cluster,
            tls,
            dir,
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let member = &self.members[i];
        let data = self.dir.path().join(&member.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{}.log", member.name)))
            .expect("etcd log file");
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://{}", member.client);
        let mut command = Command::new("etcd");
        if let Some(tls) = &self.tls {
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
            .arg(&data)
            .args(["--name", &member.name])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &member.peer])
            .args(["--initial-advertise-peer-urls", &member.peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-state", "new"])
            .args(["--initial-cluster-token", "corral-ha-test"])
            // Loopback: elect quickly.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `etcd` ({e}): run scripts/setup.sh to install etcd-server")
            });
        self.members[i].child = Some(child);
    }

    /// Waits until member `i` accepts connections; an error with the end of its log if it
    /// exits first or takes longer than 20 s.
    fn wait_listening(&mut self, i: usize) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&self.members[i].client).is_err() {
            let exited = match self.members[i].child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                _ => None,
            };
            if let Some(status) = exited {
                return Err(format!(
                    "etcd member {i} exited before it listened ({status}): {}",
                    self.log_tail(i)
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "etcd member {i} did not listen within 20 s: {}",
                    self.log_tail(i)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The end of member `i`'s log.
    fn log_tail(&self, i: usize) -> String {
        let log = self
            .dir
            .path()
            .join(format!("{}.log", self.members[i].name));
        crate::cluster::log_tail(&log, 2000)
    }

    /// `etcd://H1:P1,H2:P2,...` for `--state` (TLS or not: `--etcd-ca` says).
    pub fn state_url(&self) -> String {
        let endpoints: Vec<&str> = self.members.iter().map(|m| m.client.as_str()).collect();
        format!("etcd://{}", endpoints.join(","))
    }

    /// SIGKILL of member `i`.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data dir.
    pub fn restart(&mut self, i: usize) {
        self.kill9(i);
        self.spawn(i);
        if let Err(reason) = self.wait_listening(i) {
            panic!("{reason}");
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill9(i);
        }
    }
}
