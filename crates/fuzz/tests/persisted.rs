//! Property test: every record the master and the services component persist, written the
//! way they write it into a real redb file, loads back equal with their own loaders
//! (`corral_master::registry::load`, `ServiceStore::load`). Values are random within the
//! rules input must keep, with the boundaries drawn often: the longest id (255 bytes, also
//! of two-byte characters), the largest amount (`MAX_SCALAR`), the widest port ranges, the
//! last instant of year 9999. `CORRAL_FUZZ_SEED` reproduces a run (each prints its seed).

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_api::ids::{MAX_ID_BYTES, validate_id};
use corral_api::operator_roles::QuotaConfig;
use corral_api::resources::{MAX_SCALAR, normalize};
use corral_api::v1::{
    AgentInfo, Attribute, Capability, FrameworkInfo, Id, Label, Labels, Range, Ranges,
    ReservationInfo, Resource, Scalar, Set, TaskState, Text, ValueType,
};
use corral_fuzz::rng::Rng;
use corral_master::registry::{self, Recovered};
use corral_master::registry_records as records;
use corral_master::role_rules::validate_role;
use corral_services::store::{Batch, ServiceStore};
use corral_services::tasks::TaskRecord;
use corral_services::tasks::record::IpAddress;
use corral_services::time::{LATEST_MS, Timestamp};
use corral_state::{RedbStore, StateStore, WriteOp};

/// Rounds of the test, each a fresh store with [`RECORDS`] records of every kind.
const ROUNDS: usize = 8;
const RECORDS: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_the_master_persists_loads_back_equal() {
    let seed = seed();
    println!("seed {seed} (CORRAL_FUZZ_SEED={seed} reproduces)");
    let mut g = Gen(Rng::new(seed));
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = RedbStore::open(dir.path().join("registry.redb")).expect("redb opens");
        let want = g.master_records();
        store.apply(want.writes()).await.expect("written");
        let got = registry::load(&store).await.expect("loads");
        want.assert_loaded(&got, round);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_record_the_services_persist_loads_back_equal() {
    let seed = seed();
    println!("seed {seed} (CORRAL_FUZZ_SEED={seed} reproduces)");
    let mut g = Gen(Rng::new(seed));
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("a temp dir");
        let redb = RedbStore::open(dir.path().join("services.redb")).expect("redb opens");
        let store = ServiceStore::new(Arc::new(redb));
        let mut want = BTreeMap::new();
        let mut batch = Batch::new();
        for _ in 0..RECORDS {
            let task = g.task_record();
            batch.put_task(&task);
            want.insert(task.id.clone(), task);
        }
        store.apply(batch).await.expect("written");
        let loaded = store.load().await.expect("the services' state loads");
        let got: BTreeMap<String, TaskRecord> = loaded
            .tasks
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        assert_eq!(got, want, "task records load back changed (seed {seed})");
    }
}

fn seed() -> u64 {
    std::env::var("CORRAL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        })
}

/// One registry's worth of master records, keyed as the registry keys them.
#[derive(Default)]
struct MasterRecords {
    frameworks: BTreeMap<String, FrameworkInfo>,
    agents: BTreeMap<String, AgentInfo>,
    weights: BTreeMap<String, f64>,
    quotas: BTreeMap<String, QuotaConfig>,
    reservations: BTreeMap<String, Vec<Resource>>,
    principals: BTreeMap<String, String>,
}

impl MasterRecords {
    /// The writes the core makes for these records (`registry_records`).
    fn writes(&self) -> Vec<WriteOp> {
        let mut ops = Vec::new();
        ops.extend(self.frameworks.values().map(records::put_framework));
        ops.extend(self.agents.values().map(records::put_agent));
        ops.extend(self.weights.iter().map(|(r, w)| records::put_weight(r, *w)));
        ops.extend(self.quotas.values().map(records::put_quota));
        ops.extend(
            self.reservations
                .iter()
                .map(|(a, r)| records::put_reservations(&Id::new(a), r)),
        );
        ops.extend(
            self.principals
                .iter()
                .map(|(a, p)| records::put_agent_principal(&Id::new(a), p)),
        );
        ops
    }

    fn assert_loaded(&self, got: &Recovered, round: usize) {
        assert!(
            got.skipped.is_empty(),
            "round {round}: entries skipped: {:?}",
            got.skipped
        );
        let by_id = |id: &Option<Id>| id.as_ref().map(|i| i.value.clone()).unwrap_or_default();
        let frameworks: BTreeMap<String, FrameworkInfo> = got
            .frameworks
            .iter()
            .map(|f| (by_id(&f.id), f.clone()))
            .collect();
        assert_eq!(frameworks, self.frameworks, "round {round}: frameworks");
        let agents: BTreeMap<String, AgentInfo> = got
            .agents
            .iter()
            .map(|a| (by_id(&a.id), a.clone()))
            .collect();
        assert_eq!(agents, self.agents, "round {round}: agents");
        let weights: BTreeMap<String, f64> = got.weights.iter().cloned().collect();
        assert_eq!(weights, self.weights, "round {round}: weights");
        let quotas: BTreeMap<String, QuotaConfig> = got
            .quotas
            .iter()
            .map(|q| (q.role.clone(), q.clone()))
            .collect();
        assert_eq!(quotas, self.quotas, "round {round}: quotas");
        let reservations: BTreeMap<String, Vec<Resource>> = got
            .reservations
            .iter()
            .map(|(a, r)| (a.value.clone(), r.clone()))
            .collect();
        assert_eq!(
            reservations, self.reservations,
            "round {round}: reservations"
        );
        let principals: BTreeMap<String, String> = got
            .agent_principals
            .iter()
            .map(|(a, p)| (a.value.clone(), p.clone()))
            .collect();
        assert_eq!(
            principals, self.principals,
            "round {round}: agent principals"
        );
    }
}

/// Random values within the rules, boundaries often.
struct Gen(Rng);

impl Gen {
    fn master_records(&mut self) -> MasterRecords {
        let mut r = MasterRecords::default();
        for _ in 0..RECORDS {
            let framework = self.framework();
            let id = framework
                .id
                .as_ref()
                .map(|i| i.value.clone())
                .unwrap_or_default();
            r.frameworks.insert(id, framework);
            let agent = self.agent();
            let id = agent
                .id
                .as_ref()
                .map(|i| i.value.clone())
                .unwrap_or_default();
            r.agents.insert(id, agent);
            r.weights.insert(self.role(), self.positive_amount());
            let quota = self.quota();
            r.quotas.insert(quota.role.clone(), quota);
            let reserved: Vec<Resource> = (0..1 + self.0.below(3))
                .map(|_| self.reserved_resource())
                .collect();
            r.reservations.insert(self.id(), reserved);
            r.principals.insert(self.id(), self.text());
        }
        r
    }

    /// An id the id rule allows; a quarter of them the longest it allows.
    fn id(&mut self) -> String {
        loop {
            let id = match self.0.below(4) {
                0 => "x".repeat(MAX_ID_BYTES),
                1 => "é".repeat(MAX_ID_BYTES / 2),
                _ => {
                    let alphabet: Vec<char> = "abcXYZ019-_.:@ é漢\u{1F600}".chars().collect();
                    let len = 1 + self.0.below(40);
                    let mut id: String = (0..len)
                        .filter_map(|_| self.0.pick(&alphabet).copied())
                        .collect();
                    id.push_str(&self.0.next_u64().to_string());
                    id
                }
            };
            // Unique within a round: the long ones get a distinct tail.
            let id = if id.len() >= MAX_ID_BYTES - 20 {
                let tail = self.0.next_u64().to_string();
                let mut head = id;
                while head.len() + tail.len() > MAX_ID_BYTES {
                    head.pop();
                }
                head + &tail
            } else {
                id
            };
            if validate_id("Fuzz", &id).is_ok() {
                return id;
            }
        }
    }

    /// A role the master's role rule allows (never `*`, which holds no quota).
    fn role(&mut self) -> String {
        loop {
            let parts = 1 + self.0.below(3);
            let role: Vec<String> = (0..parts)
                .map(|_| match self.0.below(3) {
                    0 => "r".repeat(1 + self.0.below(200)),
                    1 => format!("eng.{}", self.0.below(1000)),
                    _ => format!("team_{}-é", self.0.next_u64()),
                })
                .collect();
            let role = role.join("/");
            if validate_role(&role).is_ok() {
                return role;
            }
        }
    }

    fn text(&mut self) -> String {
        match self.0.below(4) {
            0 => String::new(),
            1 => "\"quoted\\ \u{0} \n \u{1F600}\"".into(),
            2 => "p".repeat(1000),
            _ => format!("principal-{}", self.0.next_u64()),
        }
    }

    /// An amount the input rules allow (0 to `MAX_SCALAR`, three decimals).
    fn amount(&mut self) -> f64 {
        match self.0.below(5) {
            0 => MAX_SCALAR,
            1 => 0.0,
            2 => 0.001,
            3 => MAX_SCALAR - 0.001,
            _ => (self.0.below(1_000_000_000) as f64) / 1000.0,
        }
    }

    fn positive_amount(&mut self) -> f64 {
        let a = self.amount();
        if a > 0.0 { a } else { 0.001 }
    }

    fn framework(&mut self) -> FrameworkInfo {
        let roles: Vec<String> = (0..self.0.below(3)).map(|_| self.role()).collect();
        FrameworkInfo {
            user: self.text(),
            name: self.text(),
            id: Some(Id::new(self.id())),
            failover_timeout: self
                .0
                .one_in(2)
                .then(|| [0.0, 604_800.0, MAX_SCALAR][self.0.below(3)]),
            checkpoint: self.0.one_in(2).then_some(true),
            role: self.0.one_in(3).then(|| self.role()),
            roles,
            hostname: self.0.one_in(2).then(|| self.text()),
            principal: self.0.one_in(2).then(|| self.text()),
            webui_url: self.0.one_in(3).then(|| "http://h:8080/".into()),
            capabilities: vec![Capability {
                kind: "MULTI_ROLE".into(),
            }],
            labels: self.0.one_in(2).then(|| Labels {
                labels: vec![Label {
                    key: self.text(),
                    value: self.0.one_in(2).then(|| self.text()),
                }],
            }),
        }
    }

    fn agent(&mut self) -> AgentInfo {
        let resources: Vec<Resource> = (0..self.0.below(5)).map(|_| self.resource()).collect();
        AgentInfo {
            hostname: self.text(),
            port: self
                .0
                .one_in(2)
                .then(|| [0, 5051, 65_535, u32::MAX][self.0.below(4)]),
            resources,
            attributes: vec![self.attribute()],
            id: Some(Id::new(self.id())),
        }
    }

    /// A resource as the core holds it (normalized).
    fn resource(&mut self) -> Resource {
        let mut r = Resource {
            name: ["cpus", "mem", "disk", "ports", "gpus", "disks"][self.0.below(6)].into(),
            ..Default::default()
        };
        match self.0.below(3) {
            0 => {
                r.kind = ValueType::Scalar;
                r.scalar = Some(Scalar {
                    value: self.amount(),
                });
            }
            1 => {
                r.kind = ValueType::Ranges;
                let bounds = [0, 1, 31_000, 32_000, 65_535, u64::MAX - 1, u64::MAX];
                let range = (0..1 + self.0.below(3))
                    .map(|_| {
                        let a = bounds[self.0.below(bounds.len())];
                        let b = bounds[self.0.below(bounds.len())];
                        Range {
                            begin: a.min(b),
                            end: a.max(b),
                        }
                    })
                    .collect();
                r.ranges = Some(Ranges { range });
            }
            _ => {
                r.kind = ValueType::Set;
                r.set = Some(Set {
                    item: (0..1 + self.0.below(3)).map(|_| self.text()).collect(),
                });
            }
        }
        normalize(r)
    }

    fn reserved_resource(&mut self) -> Resource {
        let mut r = self.resource();
        r.reservations = vec![ReservationInfo {
            role: self.role(),
            principal: self.0.one_in(2).then(|| self.text()),
            ..Default::default()
        }];
        normalize(r)
    }

    fn attribute(&mut self) -> Attribute {
        let mut a = Attribute {
            name: self.text(),
            ..Default::default()
        };
        if self.0.one_in(2) {
            a.kind = ValueType::Scalar;
            a.scalar = Some(Scalar {
                value: [f64::MAX, -1e306, 0.5, -0.0][self.0.below(4)],
            });
        } else {
            a.kind = ValueType::Text;
            a.text = Some(Text { value: self.text() });
        }
        a
    }

    fn quota(&mut self) -> QuotaConfig {
        let mut guarantees = BTreeMap::new();
        let mut limits = BTreeMap::new();
        for name in ["cpus", "mem", "gpus"] {
            let limit = self.amount();
            limits.insert(name.to_string(), Scalar { value: limit });
            if self.0.one_in(2) {
                let guarantee = if self.0.one_in(2) { limit } else { 0.0 };
                guarantees.insert(name.to_string(), Scalar { value: guarantee });
            }
        }
        QuotaConfig {
            role: self.role(),
            guarantees,
            limits,
        }
    }

    fn timestamp(&mut self) -> Timestamp {
        Timestamp(match self.0.below(4) {
            0 => LATEST_MS,
            1 => 0,
            _ => self.0.next_u64() % (LATEST_MS + 1),
        })
    }

    fn task_record(&mut self) -> TaskRecord {
        let states = [
            TaskState::TaskStaging,
            TaskState::TaskRunning,
            TaskState::TaskKilling,
            TaskState::TaskUnreachable,
        ];
        TaskRecord {
            id: format!(
                "{}.{}",
                self.id().replace(['/', '.'], "_"),
                self.0.next_u64()
            ),
            app_id: format!("/{}", self.id()),
            version: self.timestamp(),
            config_version: self.timestamp(),
            agent_id: self.id(),
            host: self.text(),
            attributes: vec![self.attribute()],
            ports: (0..self.0.below(3))
                .map(|_| [0, 31_000, u32::MAX][self.0.below(3)])
                .collect(),
            state: states[self.0.below(states.len())],
            staged_at: self.timestamp(),
            started_at: self.0.one_in(2).then(|| self.timestamp()),
            ip_addresses: vec![IpAddress {
                ip_address: "10.0.0.1".into(),
                protocol: "IPv4".into(),
            }],
            kill_requested_at: self.0.one_in(2).then(|| self.0.next_u64()),
            healthy: self.0.one_in(2).then_some(true),
            // Not stored (`#[serde(skip)]`): an unreachable task is re-detected on start.
            unreachable_since: None,
        }
    }
}
