//! A small model of the host for property tests of the allocation policies: it drives a
//! policy through the SDK's `Allocator` calls, keeps what the host would know (what is held
//! where, refusals, suppressed and inactive frameworks, quota limits) and checks every grant
//! against the promises all policies make. The tests are in `tests/`.

use std::collections::{BTreeMap, BTreeSet};

use corral_sdk::allocator::{Allocator, Grant, Quota};
use corral_sdk::resources::Resources;
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

/// The built-in policies, by name, with their default configuration.
pub fn policy(name: &str) -> Box<dyn Allocator> {
    let mut p: Box<dyn Allocator> = match name {
        "drf" => Box::new(drf_core::Drf::default()),
        "priority" => Box::new(priority_core::Priority::default()),
        _ => Box::new(binpack_core::Binpack::default()),
    };
    // The empty configuration is every policy's default.
    let _ = p.init(String::new());
    p
}

pub const POLICIES: [&str; 3] = ["drf", "priority", "binpack"];

pub fn agent(id: &str, resources: Vec<Resource>) -> AgentInfo {
    AgentInfo {
        id: id.into(),
        hostname: format!("{id}.example"),
        resources,
        attributes: vec![],
    }
}

pub fn framework(id: &str, roles: &[&str], gpu: bool) -> FrameworkInfo {
    FrameworkInfo {
        id: id.into(),
        name: id.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: if gpu {
            vec!["GPU_RESOURCES".into()]
        } else {
            vec![]
        },
        principal: None,
    }
}

#[derive(Debug, Clone)]
struct Refusal {
    agent: String,
    framework: String,
    resources: Resources,
    until: u64,
}

/// The host's side: the truth against which grants are checked.
pub struct Host {
    pub policy: Box<dyn Allocator>,
    pub agents: BTreeMap<String, Resources>,
    frameworks: BTreeMap<String, FrameworkInfo>,
    inactive: BTreeSet<String>,
    suppressed: BTreeSet<(String, String)>,
    limits: BTreeMap<String, BTreeMap<String, f64>>,
    refusals: Vec<Refusal>,
    /// Outstanding grants (held until recovered).
    pub held: Vec<Grant>,
    pub now: u64,
}

impl Host {
    pub fn new(policy: Box<dyn Allocator>) -> Host {
        Host {
            policy,
            agents: BTreeMap::new(),
            frameworks: BTreeMap::new(),
            inactive: BTreeSet::new(),
            suppressed: BTreeSet::new(),
            limits: BTreeMap::new(),
            refusals: Vec::new(),
            held: Vec::new(),
            now: 1_700_000_000_000,
        }
    }

    pub fn add_agent(&mut self, info: AgentInfo) {
        self.agents
            .insert(info.id.clone(), Resources::from_list(&info.resources));
        self.policy.add_agent(info, vec![]);
    }

    pub fn add_framework(&mut self, info: FrameworkInfo) {
        self.frameworks.insert(info.id.clone(), info.clone());
        self.policy.add_framework(info, true);
    }

    pub fn framework_ids(&self) -> Vec<String> {
        self.frameworks.keys().cloned().collect()
    }

    pub fn set_active(&mut self, id: &str, active: bool) {
        if active {
            self.inactive.remove(id);
            self.policy.activate_framework(id.into());
        } else {
            self.inactive.insert(id.into());
            self.policy.deactivate_framework(id.into());
        }
    }

    pub fn suppress(&mut self, id: &str) {
        if let Some(f) = self.frameworks.get(id) {
            for role in &f.roles {
                self.suppressed.insert((id.into(), role.clone()));
            }
        }
        self.policy.suppress(id.into(), vec![]);
    }

    pub fn revive(&mut self, id: &str) {
        self.suppressed.retain(|(f, _)| f != id);
        self.refusals.retain(|r| r.framework != id);
        self.policy.revive(id.into(), vec![]);
    }

    pub fn set_limit(&mut self, role: &str, cpus: f64) {
        self.limits
            .insert(role.into(), BTreeMap::from([("cpus".to_string(), cpus)]));
        self.policy.set_quota(Quota {
            role: role.into(),
            guarantees: vec![],
            limits: vec![Resource::scalar("cpus", cpus)],
        });
    }

    /// Gives back outstanding grant `index` (modulo), refusing it for `refuse_ms` if given.
    pub fn decline(&mut self, index: usize, refuse_ms: Option<u64>) {
        if self.held.is_empty() {
            return;
        }
        let grant = self.held.remove(index % self.held.len());
        let until = refuse_ms.map(|ms| self.now + ms);
        if let Some(until) = until {
            self.refusals.push(Refusal {
                agent: grant.agent_id.clone(),
                framework: grant.framework_id.clone(),
                resources: Resources::from_list(&grant.resources),
                until,
            });
        }
        self.policy
            .recover(grant.agent_id, grant.framework_id, grant.resources, until);
    }

    /// What is held on `agent` now.
    fn held_on(&self, agent: &str) -> Resources {
        let mut held = Resources::new();
        for g in self.held.iter().filter(|g| g.agent_id == agent) {
            held.add_all(&g.resources);
        }
        held
    }

    /// Cpus held under `role` and every role below it.
    pub fn subtree_cpus(&self, role: &str) -> f64 {
        let prefix = format!("{role}/");
        self.held
            .iter()
            .filter(|g| g.role == role || g.role.starts_with(&prefix))
            .map(|g| Resources::from_list(&g.resources).scalar("cpus"))
            .sum()
    }

    /// One cycle; every grant is checked against the promises, in order. Returns the grants.
    pub fn allocate(&mut self) -> Result<Vec<Grant>, String> {
        let grants = self.policy.allocate(self.now);
        for g in &grants {
            self.check(g)?;
            self.held.push(g.clone());
            for (role, limits) in &self.limits {
                let prefix = format!("{role}/");
                if (g.role == *role || g.role.starts_with(&prefix))
                    && let Some(max) = limits.get("cpus")
                {
                    let have = self.subtree_cpus(role);
                    if have > max + 1e-6 {
                        return Err(format!(
                            "role {role} holds {have} cpus, over its limit {max}"
                        ));
                    }
                }
            }
        }
        Ok(grants)
    }

    fn check(&self, g: &Grant) -> Result<(), String> {
        let total = self
            .agents
            .get(&g.agent_id)
            .ok_or_else(|| format!("grant on unknown agent {}", g.agent_id))?;
        let framework = self
            .frameworks
            .get(&g.framework_id)
            .ok_or_else(|| format!("grant to unknown framework {}", g.framework_id))?;
        let mut free = total.clone();
        free.subtract_all(self.held_on(&g.agent_id).as_slice());
        if !free.contains(&g.resources) {
            return Err(format!(
                "{g:?} is more than {} has free ({free:?}): over-allocated or granted twice",
                g.agent_id
            ));
        }
        if let Some(r) = g
            .resources
            .iter()
            .find(|r| r.reservation.as_ref().is_some_and(|role| *role != g.role))
        {
            return Err(format!(
                "{r:?} reserved for another role went to role {}",
                g.role
            ));
        }
        if !framework.roles.contains(&g.role) {
            return Err(format!("{g:?}: not one of the framework's roles"));
        }
        if self.inactive.contains(&g.framework_id) {
            return Err(format!("{g:?}: the framework is inactive"));
        }
        if self
            .suppressed
            .contains(&(g.framework_id.clone(), g.role.clone()))
        {
            return Err(format!("{g:?}: the framework suppressed this role"));
        }
        let gpu = framework.capabilities.iter().any(|c| c == "GPU_RESOURCES");
        if !gpu && g.resources.iter().any(|r| r.name == "gpus") {
            return Err(format!("{g:?}: gpus to a framework without GPU_RESOURCES"));
        }
        if let Some(r) = self.refusals.iter().find(|r| {
            r.agent == g.agent_id
                && r.framework == g.framework_id
                && r.until > self.now
                && r.resources.contains(&g.resources)
        }) {
            return Err(format!(
                "{g:?}: refused until {} (now {})",
                r.until, self.now
            ));
        }
        Ok(())
    }
}
