//! The core's state in Mesos' v0 shapes: `/master/state`, `/master/state-summary`,
//! `/master/frameworks`, `/master/slaves`, `/master/tasks`, `/master/roles` and the
//! `/metrics/snapshot` values, written as apache/mesos `src/master/readonly_handler.cpp`
//! writes them (`FullFrameworkWriter`, `SlaveWriter`, `SlavesWriter`, `Summary<Framework>`,
//! `TaskStateSummary`). What the core does not know (start time, flags) comes in a
//! [`MasterFacts`]. Read-only, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use corral_api::resources::{Resources, reservation_role};
use corral_api::v1::{Scalar, Task, TaskState};

use super::core::{Agent, CompletedFramework, Framework, MasterCore};
use super::view_filter::TaskVisibility;
use corral_api::v0::{self as v0_model, agent_pid, secs};

/// Mesos' default page of `/master/tasks` (`TASK_LIMIT`).
pub const TASK_LIMIT: usize = 100;

/// What `/master/state` reports that the core does not hold.
#[derive(Debug, Clone, Default)]
pub struct MasterFacts {
    pub start_ms: u64,
    pub elected_ms: u64,
    /// Mesos-named flags with the values this master runs with, as Mesos stringifies them.
    pub flags: BTreeMap<String, String>,
    /// The cluster's id from the registry (DC/OS' `/metadata` `CLUSTER_ID`).
    pub cluster_id: String,
    /// The address clients reach this master at (`/metadata` `PUBLIC_IPV4`).
    pub public_ip: String,
}

/// The IP each agent hostname resolves to, for the agents' libprocess pids
/// (`slave(1)@IP:PORT`, from which Mesos-DNS takes the agent's address); a hostname not in
/// it is written as it is.
pub type AgentIps = BTreeMap<String, String>;

/// Which tasks `/master/tasks` lists, and in which order (its query parameters).
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub framework_id: Option<String>,
    pub task_id: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// `asc`, or descending otherwise (Mesos' default).
    pub ascending: bool,
}

/// Task counts per state for `/master/state-summary` (`TaskStateSummary`).
#[derive(Default)]
struct StateCounts(BTreeMap<&'static str, u64>);

impl StateCounts {
    fn count(&mut self, state: TaskState) {
        *self.0.entry(state.as_str()).or_default() += 1;
    }

    /// The states the summary writes (Mesos leaves out DROPPED, GONE and the like).
    fn write(&self, out: &mut Map<String, Value>) {
        for state in [
            "TASK_STAGING",
            "TASK_STARTING",
            "TASK_RUNNING",
            "TASK_KILLING",
            "TASK_FINISHED",
            "TASK_KILLED",
            "TASK_FAILED",
            "TASK_LOST",
            "TASK_ERROR",
            "TASK_UNREACHABLE",
        ] {
            out.insert(state.into(), json!(self.0.get(state).copied().unwrap_or(0)));
        }
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn quantities(map: &BTreeMap<String, Scalar>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), json!(v.value)))
            .collect(),
    )
}

fn scalar_quantities(resources: &[corral_api::v1::Resource]) -> Value {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for r in resources {
        if let Some(s) = &r.scalar {
            *out.entry(r.name.clone()).or_default() += s.value;
        }
    }
    Value::Object(
        out.into_iter()
            .map(|(k, v)| (k, json!(corral_api::resources::round_scalar(v))))
            .collect(),
    )
}

impl MasterCore {
    /// `GET /master/state`.
    pub fn v0_state(&self, facts: &MasterFacts, ips: &AgentIps) -> Value {
        let info = &self.master_info;
        let pid = v0_model::master_pid(info);
        let (active, inactive) = self
            .registered_agents()
            .fold((0u64, 0u64), |(a, i), agent| {
                if agent.connected() {
                    (a + 1, i)
                } else {
                    (a, i + 1)
                }
            });
        let mut out = Map::new();
        out.insert("version".into(), json!(corral_api::VERSION));
        // Mesos' build facts; Corral's build records none of them.
        out.insert("build_date".into(), json!(""));
        out.insert("build_time".into(), json!(0.0));
        out.insert("build_user".into(), json!(""));
        out.insert("start_time".into(), json!(secs(facts.start_ms)));
        out.insert("elected_time".into(), json!(secs(facts.elected_ms)));
        out.insert("id".into(), json!(info.id));
        out.insert("pid".into(), json!(pid));
        out.insert(
            "hostname".into(),
            json!(info.hostname.clone().unwrap_or_default()),
        );
        // MasterInfo capabilities (AGENT_UPDATE, AGENT_DRAINING, QUOTA_V2): none implemented.
        out.insert("capabilities".into(), json!([]));
        out.insert("activated_slaves".into(), json!(active as f64));
        out.insert("deactivated_slaves".into(), json!(inactive as f64));
        out.insert(
            "unreachable_slaves".into(),
            json!(self.partitions.unreachable.len() as f64),
        );
        // Only the leader answers (followers redirect), so it names itself.
        out.insert("leader".into(), json!(pid));
        out.insert("leader_info".into(), v0_model::master_info(info));
        out.insert("flags".into(), json!(facts.flags));
        let slaves: Vec<Value> = self
            .registered_agents()
            .map(|a| Value::Object(self.v0_agent(a, ips)))
            .collect();
        out.insert("slaves".into(), Value::Array(slaves));
        out.insert("recovered_slaves".into(), self.v0_recovered_agents(None));
        let frameworks = self.v0_frameworks(None);
        for (key, value) in object(frameworks) {
            if key != "unregistered_frameworks" {
                out.insert(key, value);
            }
        }
        out.insert("orphan_tasks".into(), json!([]));
        out.insert("unregistered_frameworks".into(), json!([]));
        Value::Object(out)
    }

    /// `GET /master/frameworks` (`?framework_id=` selects one).
    pub fn v0_frameworks(&self, framework_id: Option<&str>) -> Value {
        let selected = |id: &str| framework_id.is_none_or(|wanted| wanted == id);
        let frameworks: Vec<Value> = self
            .frameworks
            .values()
            .filter(|f| selected(&f.id().value))
            .map(|f| self.v0_full_framework(f))
            .collect();
        let completed: Vec<Value> = self
            .completed_frameworks
            .iter()
            .filter(|f| selected(f.info.id.as_ref().map_or("", |id| id.value.as_str())))
            .map(|f| self.v0_completed_framework(f))
            .collect();
        json!({
            "frameworks": frameworks,
            "completed_frameworks": completed,
            "unregistered_frameworks": [],
        })
    }

    /// `GET /master/slaves` (`?slave_id=` selects one): each agent with the `*_full`
    /// resources (protobuf JSON) that `SlavesWriter::writeSlave` adds.
    pub fn v0_slaves(&self, agent_id: Option<&str>, ips: &AgentIps) -> Value {
        let slaves: Vec<Value> = self
            .registered_agents()
            .filter(|a| agent_id.is_none_or(|wanted| wanted == a.id().value))
            .map(|agent| {
                let mut out = self.v0_agent(agent, ips);
                let (used, offered) = self.agent_used(&agent.id());
                let mut reserved: BTreeMap<String, Vec<corral_api::v1::Resource>> = BTreeMap::new();
                let mut unreserved = Vec::new();
                for r in agent.total.iter() {
                    match reservation_role(r) {
                        Some(role) => reserved
                            .entry(role.to_string())
                            .or_default()
                            .push(r.clone()),
                        None => unreserved.push(r.clone()),
                    }
                }
                out.insert("reserved_resources_full".into(), json!(reserved));
                out.insert("unreserved_resources_full".into(), json!(unreserved));
                out.insert("used_resources_full".into(), json!(used.to_vec()));
                out.insert("offered_resources_full".into(), json!(offered.to_vec()));
                Value::Object(out)
            })
            .collect();
        json!({
            "slaves": slaves,
            "recovered_slaves": self.v0_recovered_agents(agent_id),
        })
    }

    /// `GET /master/state-summary`.
    pub fn v0_state_summary(&self, ips: &AgentIps) -> Value {
        let mut by_framework: BTreeMap<String, StateCounts> = BTreeMap::new();
        let mut by_agent: BTreeMap<String, StateCounts> = BTreeMap::new();
        let mut agents_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut frameworks_on: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (framework, task) in self.framework_tasks() {
            let f = framework.id().value;
            let a = task.agent_id.value.clone();
            by_framework.entry(f.clone()).or_default().count(task.state);
            by_agent.entry(a.clone()).or_default().count(task.state);
            agents_of.entry(f.clone()).or_default().insert(a.clone());
            frameworks_on.entry(a).or_default().insert(f);
        }
        let none = StateCounts::default();
        let slaves: Vec<Value> = self
            .registered_agents()
            .map(|agent| {
                let id = agent.id().value;
                let mut out = self.v0_agent(agent, ips);
                by_agent.get(&id).unwrap_or(&none).write(&mut out);
                let ids: Vec<&String> = frameworks_on.get(&id).into_iter().flatten().collect();
                out.insert("framework_ids".into(), json!(ids));
                Value::Object(out)
            })
            .collect();
        let frameworks: Vec<Value> = self
            .frameworks
            .values()
            .map(|framework| {
                let id = framework.id().value;
                let mut out = self.v0_framework_summary(framework);
                out.remove("resources");
                by_framework.get(&id).unwrap_or(&none).write(&mut out);
                let ids: Vec<&String> = agents_of.get(&id).into_iter().flatten().collect();
                out.insert("slave_ids".into(), json!(ids));
                Value::Object(out)
            })
            .collect();
        json!({
            "hostname": self.master_info.hostname.clone().unwrap_or_default(),
            "slaves": slaves,
            "frameworks": frameworks,
        })
    }

    /// `GET /master/tasks`: active, unreachable and completed tasks of the known frameworks,
    /// sorted by their first status' time (newest first unless `order=asc`), one page, of
    /// the tasks the caller may view.
    pub fn v0_tasks(&self, query: &TaskQuery, visible: &TaskVisibility) -> Value {
        let framework_selected = |id: &str| {
            query
                .framework_id
                .as_deref()
                .is_none_or(|wanted| wanted == id)
        };
        let task_selected = |task: &Task| {
            query
                .task_id
                .as_deref()
                .is_none_or(|wanted| wanted == task.task_id.value)
        };
        // Each selected framework's user, by id.
        let known: BTreeMap<&str, &str> = self
            .frameworks
            .values()
            .map(|f| &f.info)
            .chain(self.completed_frameworks.iter().map(|f| &f.info))
            .filter_map(|info| Some((info.id.as_ref()?.value.as_str(), info.user.as_str())))
            .filter(|(id, _)| framework_selected(id))
            .collect();
        let mut tasks: Vec<(&Task, &str)> = Vec::new();
        for framework in self.frameworks.values() {
            if !known.contains_key(framework.id().value.as_str()) {
                continue;
            }
            for record in framework.tasks.values() {
                tasks.push((&record.task, record.role.as_str()));
            }
        }
        for task in &self.completed_tasks {
            if known.contains_key(task.framework_id.value.as_str()) {
                tasks.push((task, ""));
            }
        }
        tasks.retain(|(task, _)| {
            let user = known.get(task.framework_id.value.as_str());
            task_selected(task) && user.is_some_and(|user| visible.task(task.user.as_deref(), user))
        });
        // Mesos' TaskComparator: by the first status' timestamp; tasks without one first
        // when ascending, last when descending.
        let first = |task: &Task| task.statuses.first().and_then(|s| s.timestamp);
        tasks.sort_by(|(a, _), (b, _)| {
            let (a, b) = (first(a), first(b));
            let ordering = match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => a.total_cmp(&b),
            };
            if query.ascending {
                ordering
            } else {
                ordering.reverse()
            }
        });
        let offset = query.offset.unwrap_or(0);
        let limit = query.limit.unwrap_or(TASK_LIMIT);
        let page: Vec<Value> = tasks
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(task, role)| v0_model::task(task, role))
            .collect();
        json!({ "tasks": page })
    }

    /// `GET /master/roles`, built from the v1 GET_ROLES view.
    pub fn v0_roles(&self) -> Value {
        let roles: Vec<Value> = self
            .get_roles()
            .roles
            .into_iter()
            .map(|role| {
                let quota = role.quota.unwrap_or_default();
                let mut held = role.allocated.clone();
                held.extend(role.offered.iter().cloned());
                let frameworks: Vec<&str> =
                    role.frameworks.iter().map(|f| f.value.as_str()).collect();
                json!({
                    "name": role.name,
                    "weight": role.weight,
                    "quota": {
                        "role": role.name,
                        "guarantee": quantities(&quota.guarantees),
                        "limit": quantities(&quota.limits),
                        "consumed": quantities(&quota.consumed),
                    },
                    "resources": scalar_quantities(&held),
                    "allocated": scalar_quantities(&role.allocated),
                    "offered": scalar_quantities(&role.offered),
                    "reserved": scalar_quantities(&role.reserved),
                    "frameworks": frameworks,
                })
            })
            .collect();
        json!({ "roles": roles })
    }

    /// `/metrics/snapshot`: the same values as GET_METRICS (`mesos_metrics.rs`).
    pub fn v0_metrics(&self, facts: &MasterFacts, now_ms: u64) -> BTreeMap<String, f64> {
        super::mesos_metrics::snapshot(self, secs(now_ms.saturating_sub(facts.start_ms)))
    }

    /// The `webui_url` of the framework named `name`, as Admin Router finds a service in
    /// Mesos' state (a connected one first).
    pub fn service_url(&self, name: &str) -> Option<String> {
        let mut named: Vec<&Framework> = self
            .frameworks
            .values()
            .filter(|f| {
                f.info.name == name && f.info.webui_url.as_ref().is_some_and(|u| !u.is_empty())
            })
            .collect();
        named.sort_by_key(|f| !f.connected());
        named.first().and_then(|f| f.info.webui_url.clone())
    }

    /// The hostnames of the agents `/master/state` lists, to resolve for their pids.
    pub fn agent_hostnames(&self) -> BTreeSet<String> {
        self.agents
            .values()
            .map(|a| a.info.hostname.clone())
            .collect()
    }

    /// Agents that registered with this master (those only recovered from the registry are
    /// `recovered_slaves`).
    fn registered_agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents
            .values()
            .filter(|a| a.incarnation > 0 && !self.partitions.unreachable.contains(&a.id()))
    }

    fn v0_recovered_agents(&self, agent_id: Option<&str>) -> Value {
        let recovered: Vec<Value> = self
            .agents
            .values()
            .filter(|a| a.incarnation == 0)
            .filter(|a| agent_id.is_none_or(|wanted| wanted == a.id().value))
            .map(|a| Value::Object(agent_info(a)))
            .collect();
        Value::Array(recovered)
    }

    /// `SlaveWriter`.
    fn v0_agent(&self, agent: &Agent, ips: &AgentIps) -> Map<String, Value> {
        let mut out = agent_info(agent);
        let (used, offered) = self.agent_used(&agent.id());
        out.insert(
            "pid".into(),
            json!(agent_pid(
                ips.get(&agent.info.hostname)
                    .unwrap_or(&agent.info.hostname),
                agent.info.port
            )),
        );
        out.insert("registered_time".into(), json!(secs(agent.registered_ms)));
        out.insert("resources".into(), v0_model::resources(agent.total.iter()));
        out.insert("used_resources".into(), v0_model::resources(used.iter()));
        out.insert(
            "offered_resources".into(),
            v0_model::resources(offered.iter()),
        );
        let mut reserved: BTreeMap<String, Vec<&corral_api::v1::Resource>> = BTreeMap::new();
        let mut unreserved = Vec::new();
        for r in agent.total.iter() {
            match reservation_role(r) {
                Some(role) => reserved.entry(role.to_string()).or_default().push(r),
                None => unreserved.push(r),
            }
        }
        let reserved: Map<String, Value> = reserved
            .into_iter()
            .map(|(role, list)| (role, v0_model::resources(list)))
            .collect();
        out.insert("reserved_resources".into(), Value::Object(reserved));
        out.insert(
            "unreserved_resources".into(),
            v0_model::resources(unreserved),
        );
        out.insert("active".into(), json!(agent.connected()));
        out.insert("deactivated".into(), json!(false));
        out.insert("version".into(), json!(agent.version));
        out.insert("capabilities".into(), json!([]));
        out
    }

    /// `json(writer, Summary<Framework>)`.
    fn v0_framework_summary(&self, framework: &Framework) -> Map<String, Value> {
        let id = framework.id();
        let mut used = Resources::new();
        for record in framework.tasks.values().filter(|r| !r.released) {
            used.add_all(&record.resources);
        }
        let mut offered = Resources::new();
        for offer in self.offers.values() {
            if offer.offer.framework_id == id {
                offered.add_all(&offer.resources);
            }
        }
        let info = &framework.info;
        let mut out = Map::new();
        out.insert("id".into(), json!(id.value));
        out.insert("name".into(), json!(info.name));
        out.insert("used_resources".into(), v0_model::resources(used.iter()));
        out.insert(
            "offered_resources".into(),
            v0_model::resources(offered.iter()),
        );
        let capabilities: Vec<&str> = info.capabilities.iter().map(|c| c.kind.as_str()).collect();
        out.insert("capabilities".into(), json!(capabilities));
        out.insert(
            "hostname".into(),
            json!(info.hostname.clone().unwrap_or_default()),
        );
        out.insert(
            "webui_url".into(),
            json!(info.webui_url.clone().unwrap_or_default()),
        );
        out.insert("active".into(), json!(framework.connected()));
        out.insert("connected".into(), json!(framework.connected()));
        out.insert("recovered".into(), json!(framework.recovered));
        let mut both = used;
        both.add_all(&offered);
        // Kept for `FullFrameworkWriter` ("resources": used + offered), removed by callers
        // that write the summary only.
        out.insert("resources".into(), v0_model::resources(both.iter()));
        out
    }

    /// `FullFrameworkWriter`.
    fn v0_full_framework(&self, framework: &Framework) -> Value {
        let id = framework.id();
        let mut out = self.v0_framework_summary(framework);
        let resources = out.remove("resources").unwrap_or(Value::Null);
        add_framework_info(&mut out, framework.info.clone(), framework.registered_ms, 0);
        out.insert("resources".into(), resources);
        let (mut tasks, mut unreachable) = (Vec::new(), Vec::new());
        for record in framework.tasks.values() {
            let task = v0_model::task(&record.task, &record.role);
            if record.task.state == TaskState::TaskUnreachable {
                unreachable.push(task);
            } else {
                tasks.push(task);
            }
        }
        out.insert("tasks".into(), Value::Array(tasks));
        out.insert("unreachable_tasks".into(), Value::Array(unreachable));
        out.insert("completed_tasks".into(), self.completed_tasks_of(&id.value));
        let offers: Vec<Value> = self
            .offers
            .values()
            .filter(|o| o.offer.framework_id == id)
            .map(|o| {
                json!({
                    "id": o.offer.id.value,
                    "framework_id": o.offer.framework_id.value,
                    "allocation_info": {"role": o.role},
                    "slave_id": o.offer.agent_id.value,
                    "resources": v0_model::resources(o.resources.iter()),
                })
            })
            .collect();
        out.insert("offers".into(), Value::Array(offers));
        // The master keeps no executor records (GET_EXECUTORS is empty too).
        out.insert("executors".into(), json!([]));
        if let Some(labels) = &framework.info.labels {
            out.insert("labels".into(), v0_model::labels(labels));
        }
        out.insert("offer_constraints".into(), json!({}));
        Value::Object(out)
    }

    fn v0_completed_framework(&self, framework: &CompletedFramework) -> Value {
        let id = framework
            .info
            .id
            .as_ref()
            .map(|id| id.value.clone())
            .unwrap_or_default();
        let zero = v0_model::resources(std::iter::empty());
        let info = &framework.info;
        let capabilities: Vec<&str> = info.capabilities.iter().map(|c| c.kind.as_str()).collect();
        let mut out = object(json!({
            "id": id,
            "name": info.name,
            "used_resources": zero,
            "offered_resources": zero,
            "capabilities": capabilities,
            "hostname": info.hostname.clone().unwrap_or_default(),
            "webui_url": info.webui_url.clone().unwrap_or_default(),
            "active": false,
            "connected": false,
            "recovered": false,
        }));
        add_framework_info(
            &mut out,
            info.clone(),
            framework.registered_ms,
            framework.unregistered_ms,
        );
        out.insert("resources".into(), zero);
        out.insert("tasks".into(), json!([]));
        out.insert("unreachable_tasks".into(), json!([]));
        out.insert("completed_tasks".into(), self.completed_tasks_of(&id));
        out.insert("offers".into(), json!([]));
        out.insert("executors".into(), json!([]));
        if let Some(labels) = &info.labels {
            out.insert("labels".into(), v0_model::labels(labels));
        }
        out.insert("offer_constraints".into(), json!({}));
        Value::Object(out)
    }

    fn completed_tasks_of(&self, framework_id: &str) -> Value {
        Value::Array(
            self.completed_tasks
                .iter()
                .filter(|t| t.framework_id.value == framework_id)
                .map(|t| v0_model::task(t, ""))
                .collect(),
        )
    }

    /// Every task of a registered framework (active, unreachable, completed) with it.
    fn framework_tasks(&self) -> impl Iterator<Item = (&Framework, &Task)> {
        let active = self
            .frameworks
            .values()
            .flat_map(|f| f.tasks.values().map(move |r| (f, &r.task)));
        let completed = self.completed_tasks.iter().filter_map(|t| {
            self.frameworks
                .get(&t.framework_id)
                .map(|framework| (framework, t))
        });
        active.chain(completed)
    }
}

/// `json(writer, SlaveInfo)`: `id`, `hostname`, `port`, `attributes`.
fn agent_info(agent: &Agent) -> Map<String, Value> {
    object(json!({
        "id": agent.id().value,
        "hostname": agent.info.hostname,
        "port": agent.info.port.unwrap_or(5051),
        "attributes": v0_model::attributes(&agent.info.attributes),
    }))
}

/// The fields `FullFrameworkWriter` adds from the FrameworkInfo.
fn add_framework_info(
    out: &mut Map<String, Value>,
    info: corral_api::v1::FrameworkInfo,
    registered_ms: u64,
    unregistered_ms: u64,
) {
    out.insert("user".into(), json!(info.user));
    out.insert(
        "failover_timeout".into(),
        json!(info.failover_timeout.unwrap_or(0.0)),
    );
    out.insert("checkpoint".into(), json!(info.checkpoint.unwrap_or(false)));
    out.insert("registered_time".into(), json!(secs(registered_ms)));
    out.insert("unregistered_time".into(), json!(secs(unregistered_ms)));
    if let Some(principal) = &info.principal {
        out.insert("principal".into(), json!(principal));
    }
    // As Mesos: `roles` for a MULTI_ROLE framework, else `role` (default "*").
    if info.has_capability("MULTI_ROLE") {
        out.insert("roles".into(), json!(info.roles));
    } else {
        out.insert(
            "role".into(),
            json!(info.role.clone().unwrap_or_else(|| "*".into())),
        );
    }
}
