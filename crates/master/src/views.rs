//! Read-only views of the core for the operator API, the CLI and `/metrics`.

use std::collections::{BTreeMap, BTreeSet};

use corral_api::operator::{
    AgentEntry, ExecutorEntry, FrameworkEntry, GetAgents, GetExecutors, GetFrameworks, GetState,
    GetTasks,
};
use corral_api::resources::Resources;
use corral_api::v1::{FrameworkInfo, Resource, TimeInfo};

use super::core::{Agent, Framework, MasterCore};
use super::view_filter::FrameworkUsers;

fn time_info(ms: u64) -> Option<TimeInfo> {
    Some(TimeInfo {
        nanoseconds: (ms as i64).saturating_mul(1_000_000),
    })
}

/// Resources per role, each carrying `allocation_info.role` as Mesos reports them.
fn by_role(groups: BTreeMap<String, Resources>) -> Vec<Resource> {
    groups
        .iter()
        .flat_map(|(role, r)| r.with_allocation_role(role))
        .collect()
}

impl MasterCore {
    pub fn get_agents(&self) -> GetAgents {
        let mut out = GetAgents::default();
        for agent in self.agents.values() {
            if agent.incarnation == 0 {
                // Known from the registry, not re-registered since this master started.
                out.recovered_agents.push(agent.info.clone());
                continue;
            }
            out.agents.push(self.agent_entry(agent));
        }
        out
    }

    pub(super) fn agent_entry(&self, agent: &Agent) -> AgentEntry {
        let (used, offered) = self.agent_used(&agent.id());
        AgentEntry {
            agent_info: agent.info.clone(),
            active: agent.connected(),
            version: Some(agent.version.clone()).filter(|v| !v.is_empty()),
            pid: None,
            registered_time: time_info(agent.registered_ms),
            total_resources: agent.total.to_vec(),
            allocated_resources: used.to_vec(),
            offered_resources: offered.to_vec(),
        }
    }

    pub fn get_frameworks(&self) -> GetFrameworks {
        GetFrameworks {
            frameworks: self
                .frameworks
                .values()
                .map(|f| self.framework_entry(f))
                .collect(),
            completed_frameworks: self
                .completed_frameworks
                .iter()
                .rev()
                .map(|f| completed_entry(&f.info, f.registered_ms))
                .collect(),
        }
    }

    pub(super) fn framework_entry(&self, framework: &Framework) -> FrameworkEntry {
        let mut allocated: BTreeMap<String, Resources> = BTreeMap::new();
        for record in framework.tasks.values().filter(|r| !r.released) {
            allocated
                .entry(record.role.clone())
                .or_default()
                .add_all(&record.resources);
        }
        let mut offered: BTreeMap<String, Resources> = BTreeMap::new();
        for offer in self.offers.values() {
            if offer.offer.framework_id.value == framework.id().value {
                offered
                    .entry(offer.role.clone())
                    .or_default()
                    .add_all(&offer.resources);
            }
        }
        FrameworkEntry {
            framework_info: framework.info.clone(),
            active: framework.connected(),
            connected: framework.connected(),
            recovered: framework.recovered,
            registered_time: time_info(framework.registered_ms),
            allocated_resources: by_role(allocated),
            offered_resources: by_role(offered),
        }
    }

    pub fn get_tasks(&self) -> GetTasks {
        GetTasks {
            pending_tasks: Vec::new(),
            tasks: self
                .frameworks
                .values()
                .flat_map(|f| f.tasks.values().map(|r| r.task.clone()))
                .collect(),
            unreachable_tasks: Vec::new(),
            completed_tasks: self.completed_tasks.iter().rev().cloned().collect(),
            launched_tasks: Vec::new(),
        }
    }

    /// Executors with a live task, one entry per (framework, agent, executor id). Mesos
    /// lists an executor until it exits; the master learns of an exit only through its
    /// tasks' ends, so an idle executor drops out of this list once its last task ends.
    pub fn get_executors(&self) -> GetExecutors {
        let mut seen = std::collections::BTreeSet::new();
        let mut executors = Vec::new();
        let live = self
            .frameworks
            .iter()
            .flat_map(|(id, f)| f.tasks.values().map(move |r| (id, r)))
            .filter(|(_, r)| !r.task.state.is_terminal());
        for (framework_id, record) in live {
            let Some(executor) = &record.executor else {
                continue;
            };
            let key = (
                framework_id.value.clone(),
                record.task.agent_id.value.clone(),
                executor.executor_id.value.clone(),
            );
            if seen.insert(key) {
                // As Mesos' master sets it when the task is accepted.
                let mut executor = executor.clone();
                executor
                    .framework_id
                    .get_or_insert_with(|| framework_id.clone());
                executors.push(ExecutorEntry {
                    executor_info: executor,
                    agent_id: record.task.agent_id.clone(),
                });
            }
        }
        GetExecutors { executors }
    }

    pub fn get_state(&self) -> GetState {
        GetState {
            get_tasks: self.get_tasks(),
            get_executors: self.get_executors(),
            get_frameworks: self.get_frameworks(),
            get_agents: self.get_agents(),
        }
    }

    /// Each framework's user by its id, active and completed (the `view_*` ACLs' object for
    /// its tasks and executors).
    pub fn framework_users(&self) -> FrameworkUsers {
        let active = self.frameworks.values().map(|f| &f.info);
        let completed = self.completed_frameworks.iter().map(|f| &f.info);
        active
            .chain(completed)
            .filter_map(|info| Some((info.id.as_ref()?.value.clone(), info.user.clone())))
            .collect()
    }

    /// The users tasks name for themselves (`Task.user`), active and completed.
    pub fn task_users(&self) -> BTreeSet<String> {
        let active = self
            .frameworks
            .values()
            .flat_map(|f| f.tasks.values().map(|r| &r.task));
        active
            .chain(&self.completed_tasks)
            .filter_map(|task| task.user.clone())
            .collect()
    }

    /// Task counts by state, active and completed together.
    pub fn task_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
        let active = self.frameworks.values().flat_map(|f| f.tasks.values());
        for record in active {
            *counts.entry(record.task.state.as_str()).or_default() += 1;
        }
        for task in &self.completed_tasks {
            *counts.entry(task.state.as_str()).or_default() += 1;
        }
        counts
    }
}

fn completed_entry(info: &FrameworkInfo, registered_ms: u64) -> FrameworkEntry {
    FrameworkEntry {
        framework_info: info.clone(),
        active: false,
        connected: false,
        recovered: false,
        registered_time: time_info(registered_ms),
        allocated_resources: Vec::new(),
        offered_resources: Vec::new(),
    }
}
