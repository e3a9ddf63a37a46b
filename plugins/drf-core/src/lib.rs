//! The `drf` allocator: Dominant Resource Fairness across frameworks, as Mesos' default
//! allocator does it with one level of roles.
//!
//! Each cycle walks the agents in id order. For an agent with free resources it picks the
//! active framework with the lowest dominant share (ties by framework id) that has an
//! unsuppressed role, may use the resources and has not refused them, and grants it all of the
//! agent's free resources usable under that role, in one grant: Mesos offers a whole agent to
//! one framework. Frameworks may use unreserved resources and those reserved for the role;
//! `gpus` only with the GPU_RESOURCES capability (and, as Mesos does by default, agents with
//! gpus are offered only to such frameworks; see [`config::Config`]) and revocable resources
//! only with REVOCABLE_RESOURCES. Granted resources stay allocated until the host recovers
//! them.
//!
//! Weights divide a role's share (default 1.0). Quota is recorded and shown by `inspect`; it
//! is not enforced yet.

mod config;
mod filters;
mod inspect;
mod sorter;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use corral_sdk::allocator::{Allocation, Allocator, Grant, Quota};
use corral_sdk::resources::Resources;
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

use config::Config;
use filters::Filters;
use sorter::Candidate;

/// The capability that lets a framework receive `gpus`.
const GPU_CAPABILITY: &str = "GPU_RESOURCES";
/// The capability that lets a framework receive revocable resources.
const REVOCABLE_CAPABILITY: &str = "REVOCABLE_RESOURCES";
/// The role of a framework that names none.
const DEFAULT_ROLE: &str = "*";

#[derive(Debug, Default)]
pub struct Drf {
    config: Config,
    /// By agent id; a BTreeMap so every cycle walks agents in the same order.
    agents: BTreeMap<String, Agent>,
    frameworks: BTreeMap<String, Framework>,
    weights: BTreeMap<String, f64>,
    quotas: BTreeMap<String, Quota>,
}

#[derive(Debug)]
struct Agent {
    info: AgentInfo,
    total: Resources,
    /// What each framework holds here (offered or used by tasks), by framework id.
    allocated: BTreeMap<String, Resources>,
}

impl Agent {
    fn available(&self) -> Resources {
        let mut free = self.total.clone();
        for held in self.allocated.values() {
            free.subtract_all(held.as_slice());
        }
        free
    }
}

#[derive(Debug)]
struct Framework {
    info: FrameworkInfo,
    active: bool,
    suppressed: BTreeSet<String>,
    filters: Filters,
}

impl Framework {
    fn new(info: FrameworkInfo, active: bool) -> Self {
        Framework {
            info,
            active,
            suppressed: BTreeSet::new(),
            filters: Filters::default(),
        }
    }

    fn roles(&self) -> Vec<String> {
        if self.info.roles.is_empty() {
            vec![DEFAULT_ROLE.to_string()]
        } else {
            self.info.roles.clone()
        }
    }

    fn has_capability(&self, name: &str) -> bool {
        self.info.capabilities.iter().any(|c| c == name)
    }

    /// The part of `free` this framework may receive under `role`.
    fn usable(&self, free: &Resources, role: &str) -> Resources {
        let gpus = self.has_capability(GPU_CAPABILITY);
        let revocable = self.has_capability(REVOCABLE_CAPABILITY);
        free.filter(|r| {
            r.reservation
                .as_deref()
                .is_none_or(|reserved| reserved == role)
                && (gpus || r.name != "gpus")
                && (revocable || !r.revocable)
        })
    }

    /// `roles` empty means all of them.
    fn selected_roles(&self, roles: Vec<String>) -> Vec<String> {
        if roles.is_empty() {
            self.roles()
        } else {
            roles
        }
    }
}

impl Drf {
    /// The sum of every agent's total resources.
    fn cluster_totals(&self) -> Resources {
        let mut totals = Resources::new();
        for agent in self.agents.values() {
            totals.add_all(agent.total.as_slice());
        }
        totals
    }

    /// What each framework holds over all agents, by framework id.
    fn held_by_framework(&self) -> BTreeMap<String, Resources> {
        let mut held: BTreeMap<String, Resources> = BTreeMap::new();
        for agent in self.agents.values() {
            for (framework_id, resources) in &agent.allocated {
                held.entry(framework_id.clone())
                    .or_default()
                    .add_all(resources.as_slice());
            }
        }
        held
    }

    fn weight(&self, role: &str) -> f64 {
        self.weights.get(role).copied().unwrap_or(1.0)
    }

    /// Every (framework, role) that may receive grants now, best first.
    fn candidates(&self, held: &BTreeMap<String, Resources>, totals: &Resources) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        for framework in self.frameworks.values().filter(|f| f.active) {
            let share = held
                .get(&framework.info.id)
                .map(|mine| sorter::dominant_share(mine, totals))
                .unwrap_or(0.0);
            for role in framework.roles() {
                if !framework.suppressed.contains(&role) {
                    let key = share / self.weight(&role);
                    candidates.push(Candidate {
                        framework_id: framework.info.id.clone(),
                        role,
                        key,
                    });
                }
            }
        }
        sorter::sort(&mut candidates);
        candidates
    }

    /// Grants on one agent, best candidate first; each takes all it may use of what is left.
    fn allocate_agent(
        &mut self,
        agent_id: &str,
        now: u64,
        held: &mut BTreeMap<String, Resources>,
        totals: &Resources,
    ) -> Vec<Grant> {
        let Some(mut free) = self.agents.get(agent_id).map(Agent::available) else {
            return Vec::new();
        };
        let gpu_agent = self
            .agents
            .get(agent_id)
            .is_some_and(|agent| agent.total.scalar("gpus") > 0.0);
        let mut grants = Vec::new();
        for candidate in self.candidates(held, totals) {
            if free.is_empty() {
                break;
            }
            let Some(framework) = self.frameworks.get(&candidate.framework_id) else {
                continue;
            };
            if gpu_agent
                && self.config.filter_gpu_agents
                && !framework.has_capability(GPU_CAPABILITY)
            {
                continue;
            }
            let offer = framework.usable(&free, &candidate.role);
            if !self.config.allocatable(&offer) || framework.filters.refuses(agent_id, &offer, now)
            {
                continue;
            }
            free.subtract_all(offer.as_slice());
            held.entry(candidate.framework_id.clone())
                .or_default()
                .add_all(offer.as_slice());
            if let Some(agent) = self.agents.get_mut(agent_id) {
                agent
                    .allocated
                    .entry(candidate.framework_id.clone())
                    .or_default()
                    .add_all(offer.as_slice());
            }
            grants.push(Grant {
                agent_id: agent_id.to_string(),
                framework_id: candidate.framework_id,
                role: candidate.role,
                resources: offer.to_vec(),
            });
        }
        grants
    }
}

impl Allocator for Drf {
    fn init(&mut self, config: String) -> Result<(), String> {
        self.config = Config::parse(&config)?;
        Ok(())
    }

    fn add_agent(&mut self, agent: AgentInfo, allocated: Vec<Allocation>) {
        let mut held: BTreeMap<String, Resources> = BTreeMap::new();
        for allocation in &allocated {
            held.entry(allocation.framework_id.clone())
                .or_default()
                .add_all(&allocation.resources);
        }
        let total = Resources::from_list(&agent.resources);
        self.agents.insert(
            agent.id.clone(),
            Agent {
                info: agent,
                total,
                allocated: held,
            },
        );
    }

    fn update_agent(&mut self, agent: AgentInfo) {
        match self.agents.get_mut(&agent.id) {
            Some(known) => {
                known.total = Resources::from_list(&agent.resources);
                known.info = agent;
            }
            None => self.add_agent(agent, Vec::new()),
        }
    }

    fn remove_agent(&mut self, agent_id: String) {
        self.agents.remove(&agent_id);
        for framework in self.frameworks.values_mut() {
            framework.filters.remove_agent(&agent_id);
        }
    }

    fn add_framework(&mut self, framework: FrameworkInfo, active: bool) {
        let id = framework.id.clone();
        self.frameworks
            .insert(id, Framework::new(framework, active));
    }

    fn update_framework(&mut self, framework: FrameworkInfo) {
        match self.frameworks.get_mut(&framework.id) {
            Some(known) => known.info = framework,
            None => self.add_framework(framework, true),
        }
    }

    fn remove_framework(&mut self, framework_id: String) {
        self.frameworks.remove(&framework_id);
        for agent in self.agents.values_mut() {
            agent.allocated.remove(&framework_id);
        }
    }

    fn activate_framework(&mut self, framework_id: String) {
        if let Some(framework) = self.frameworks.get_mut(&framework_id) {
            framework.active = true;
        }
    }

    fn deactivate_framework(&mut self, framework_id: String) {
        if let Some(framework) = self.frameworks.get_mut(&framework_id) {
            framework.active = false;
        }
    }

    fn suppress(&mut self, framework_id: String, roles: Vec<String>) {
        if let Some(framework) = self.frameworks.get_mut(&framework_id) {
            let roles = framework.selected_roles(roles);
            framework.suppressed.extend(roles);
        }
    }

    fn revive(&mut self, framework_id: String, roles: Vec<String>) {
        if let Some(framework) = self.frameworks.get_mut(&framework_id) {
            for role in framework.selected_roles(roles) {
                framework.suppressed.remove(&role);
            }
            framework.filters.clear();
        }
    }

    fn recover(
        &mut self,
        agent_id: String,
        framework_id: String,
        resources: Vec<Resource>,
        refuse_until: Option<u64>,
    ) {
        if let Some(agent) = self.agents.get_mut(&agent_id)
            && let Some(held) = agent.allocated.get_mut(&framework_id)
        {
            held.subtract_all(&resources);
            if held.is_empty() {
                agent.allocated.remove(&framework_id);
            }
        }
        if let Some(until) = refuse_until
            && let Some(framework) = self.frameworks.get_mut(&framework_id)
            && self.agents.contains_key(&agent_id)
        {
            framework.filters.add(&agent_id, &resources, until);
        }
    }

    fn update_allocation(
        &mut self,
        agent_id: String,
        framework_id: String,
        before: Vec<Resource>,
        after: Vec<Resource>,
    ) {
        if let Some(agent) = self.agents.get_mut(&agent_id) {
            let held = agent.allocated.entry(framework_id).or_default();
            held.subtract_all(&before);
            held.add_all(&after);
        }
    }

    fn set_weight(&mut self, role: String, weight: f64) {
        if weight.is_finite() && weight > 0.0 {
            self.weights.insert(role, weight);
        } else {
            corral_sdk::log::warn(&format!(
                "drf: ignoring weight {weight} for role {role}: weights must be positive"
            ));
        }
    }

    fn set_quota(&mut self, quota: Quota) {
        if quota.guarantees.is_empty() && quota.limits.is_empty() {
            self.quotas.remove(&quota.role);
        } else {
            self.quotas.insert(quota.role.clone(), quota);
        }
    }

    fn allocate(&mut self, now: u64) -> Vec<Grant> {
        for framework in self.frameworks.values_mut() {
            framework.filters.expire(now);
        }
        let totals = self.cluster_totals();
        let mut held = self.held_by_framework();
        let agent_ids: Vec<String> = self.agents.keys().cloned().collect();
        let mut grants = Vec::new();
        for agent_id in agent_ids {
            grants.extend(self.allocate_agent(&agent_id, now, &mut held, &totals));
        }
        grants
    }

    fn inspect(&mut self) -> String {
        inspect::inspect(self)
    }
}
