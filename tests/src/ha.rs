//! Several masters on one etcd cluster, and agents that follow whichever leads: the
//! harness for the `ha_*` chaos tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::etcd_cluster::EtcdCluster;
use crate::{Framework, Process, free_port, scalar, task};

/// The leader lease the HA tests run with: a dead leader is replaced after about this long.
pub const LEASE_SECS: u64 = 2;

pub struct HaCluster {
    pub etcd: EtcdCluster,
    pub masters: Vec<Process>,
    pub master_addrs: Vec<String>,
    pub agents: Vec<Process>,
    pub dir: tempfile::TempDir,
}

/// How an [`HaCluster`] starts, beyond its size.
#[derive(Debug, Clone)]
pub struct HaOptions {
    /// The masters' `--leader-lease`, in seconds.
    pub lease_secs: u64,
    /// Agents get `--master etcd://...` (the masters' `--state`) instead of the master list.
    pub agents_via_etcd: bool,
}

impl Default for HaOptions {
    fn default() -> Self {
        HaOptions {
            lease_secs: LEASE_SECS,
            agents_via_etcd: false,
        }
    }
}

impl Drop for HaCluster {
    fn drop(&mut self) {
        crate::cluster::kill_processes_under(self.dir.path());
    }
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
        Self::start_with(
            etcd_members,
            masters,
            agents,
            resources,
            HaOptions::default(),
        )
        .await
    }

    /// [`HaCluster::start`] with `options`.
    pub async fn start_with(
        etcd_members: usize,
        masters: usize,
        agents: usize,
        resources: &str,
        options: HaOptions,
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
                "--allocation-interval",
                "200ms",
                "--leader-lease",
                &format!("{}secs", options.lease_secs),
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
                if options.agents_via_etcd {
                    cluster.etcd.state_url()
                } else {
                    cluster.master_addrs.join(",")
                },
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

    /// Who `master` says leads: its `/master/redirect` answer (None: 503, or no answer
    /// within 2 s).
    pub async fn leader_per(master: &str) -> Option<String> {
        HaCluster::leader_per_within(master, Duration::from_secs(2)).await
    }

    /// [`HaCluster::leader_per`], waiting up to `timeout` for the answer (a follower holds
    /// the request through an election).
    pub async fn leader_per_within(master: &str, timeout: Duration) -> Option<String> {
        let http = crate::http_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
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

/// Launches `n` tasks of 0.1 cpu / 32 MiB over whatever is offered; each appends a line to
/// `starts/<id>` when it starts, so a task launched twice shows.
pub async fn launch_sleepers(fw: &mut Framework, n: usize, starts: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < n {
        for offer in fw.offers_keeping_updates(20).await {
            let room = ((scalar(&offer, "cpus") + 1e-9) / 0.1).floor() as usize;
            let count = room.min(n - ids.len());
            let tasks: Vec<Value> = (ids.len()..ids.len() + count)
                .map(|i| {
                    let id = format!("sleeper-{i:02}");
                    let command =
                        format!("echo started >> {}/{id}; exec sleep 600", starts.display());
                    task(&id, &offer, &command, 0.1, 32.0)
                })
                .collect();
            for t in &tasks {
                ids.push(t["task_id"]["value"].as_str().expect("id").to_string());
            }
            assert_eq!(fw.launch(&offer, tasks, 300.0).await, 202);
            if ids.len() == n {
                break;
            }
        }
    }
    ids
}

/// Implicit reconciliation: the state of every task the master knows, by task id.
pub async fn reconcile_all(fw: &mut Framework, expected: usize) -> BTreeMap<String, String> {
    let (code, body) = fw
        .call(json!({"type": "RECONCILE", "reconcile": {"tasks": []}}))
        .await;
    assert_eq!(code, 202, "RECONCILE: {body}");
    let mut states = BTreeMap::new();
    while states.len() < expected {
        let Some(event) = fw.next_event(20).await else {
            panic!(
                "only {} of {expected} tasks reconciled: {states:?}",
                states.len()
            );
        };
        if event["type"] == "UPDATE" {
            let status = &event["update"]["status"];
            states.insert(
                status["task_id"]["value"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                status["state"].as_str().unwrap_or("").to_string(),
            );
        }
    }
    states
}

pub use crate::cluster::count_active_agents as active_agents;
