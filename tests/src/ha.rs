//! Several masters on one etcd cluster, and agents that follow whichever leads: the
//! harness for the `ha_*` chaos tests.

use std::time::Duration;

use crate::etcd_cluster::EtcdCluster;
use crate::{Process, free_port};

/// The leader lease the HA tests run with: a dead leader is replaced after about this long.
pub const LEASE_SECS: u64 = 2;

pub struct HaCluster {
    pub etcd: EtcdCluster,
    pub masters: Vec<Process>,
    pub master_addrs: Vec<String>,
    pub agents: Vec<Process>,
    pub dir: tempfile::TempDir,
}

impl HaCluster {
    /// `etcd_members` etcd members, `masters` masters on them (one elected), and `agents`
    /// agents given every master's address; waits until a leader lists every agent.
    pub async fn start(
        etcd_members: usize,
        masters: usize,
        agents: usize,
        resources: &str,
    ) -> HaCluster {
        let etcd = EtcdCluster::start(etcd_members);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cluster = HaCluster {
            etcd,
            masters: Vec::new(),
            master_addrs: Vec::new(),
            agents: Vec::new(),
            dir,
        };
        for i in 0..masters {
            let port = free_port();
            let args: Vec<String> = [
                "master",
                "--ip",
                "127.0.0.1",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--state",
                &cluster.etcd.state_url(),
                "--allocation-interval-ms",
                "200",
                "--leader-lease-secs",
                &LEASE_SECS.to_string(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            cluster.masters.push(Process::start(
                &format!("master{i}"),
                &args,
                cluster.dir.path(),
            ));
            cluster.master_addrs.push(format!("127.0.0.1:{port}"));
        }
        let leader = cluster.wait_leader(None, 30).await;
        for i in 0..agents {
            let work = cluster.dir.path().join(format!("agent{i}"));
            let args: Vec<String> = vec![
                "agent".into(),
                "--master".into(),
                cluster.master_addrs.join(","),
                "--ip".into(),
                "127.0.0.1".into(),
                "--port".into(),
                free_port().to_string(),
                "--work-dir".into(),
                work.display().to_string(),
                "--resources".into(),
                resources.into(),
            ];
            cluster.agents.push(Process::start(
                &format!("agent{i}"),
                &args,
                cluster.dir.path(),
            ));
        }
        cluster.wait_agents(&leader, agents, 60).await;
        cluster
    }

    /// Every master's address, comma-separated (what agents and clients are given).
    pub fn master_list(&self) -> String {
        self.master_addrs.join(",")
    }

    pub fn master_index(&self, addr: &str) -> usize {
        self.master_addrs
            .iter()
            .position(|a| a == addr)
            .unwrap_or_else(|| panic!("{addr} is not one of {:?}", self.master_addrs))
    }

    /// Who `master` says leads: its `/master/redirect` answer (None: 503, or no answer).
    pub async fn leader_per(master: &str) -> Option<String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        let response = http
            .get(format!("http://{master}/master/redirect"))
            .send()
            .await
            .ok()?;
        if response.status().as_u16() != 307 {
            return None;
        }
        let location = response.headers().get("location")?.to_str().ok()?;
        Some(location.trim_start_matches("http://").to_string())
    }

    /// Waits until every live master names the same leader (not `other_than`), which is one
    /// of the masters and says it leads itself.
    pub async fn wait_leader(&self, other_than: Option<&str>, secs: u64) -> String {
        let addrs = self.master_addrs.clone();
        let other = other_than.map(str::to_string);
        crate::eventually(secs, "one leader named by every live master", || {
            let addrs = addrs.clone();
            let other = other.clone();
            async move {
                let mut named = Vec::new();
                for addr in &addrs {
                    if Some(addr) == other.as_ref() {
                        continue;
                    }
                    named.push(HaCluster::leader_per(addr).await?);
                }
                let leader = named.first()?.clone();
                let agreed = named.iter().all(|n| *n == leader);
                (agreed && addrs.contains(&leader) && Some(&leader) != other.as_ref())
                    .then_some(leader)
            }
        })
        .await
    }

    /// Waits until `master` lists `n` active agents.
    pub async fn wait_agents(&self, master: &str, n: usize, secs: u64) {
        let master = master.to_string();
        crate::eventually(secs, &format!("{n} active agents at {master}"), || {
            let master = master.clone();
            async move { (active_agents(&master).await == n).then_some(()) }
        })
        .await;
    }

    /// All process logs, for assertion messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in self.masters.iter().chain(&self.agents) {
            out.push_str(&format!("\n--- {} ---\n{}", p.name, p.log_text()));
        }
        out
    }
}

pub use crate::cluster::count_active_agents as active_agents;
