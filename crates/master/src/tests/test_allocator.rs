//! A small native allocation policy for tests: each agent's free resources go, whole, to the
//! active unsuppressed framework holding the least (ties by id), honouring decline filters.
//! Knobs make it misbehave: fail a call, or grant more than an agent has.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use corral_api::resources::Resources;
use corral_api::v1::Resource;
use corral_plugin_host::PluginError;
use corral_plugin_host::allocator::{
    AgentSnapshot, Allocation, AllocatorFactory, AllocatorPolicy, FrameworkSnapshot, Grant, Quota,
};

#[derive(Debug, Default)]
pub struct Knobs {
    /// The next `allocate` fails with this error (once).
    pub fail_allocate: Option<PluginError>,
    /// The next `recover` fails with this error (once).
    pub fail_recover: Option<PluginError>,
    /// Grant each agent's total instead of what is free.
    pub over_allocate: bool,
    /// Instances created by the factory.
    pub instances: usize,
    /// Every call, as "name arg..." lines, across instances.
    pub calls: Vec<String>,
}

pub type SharedKnobs = Arc<Mutex<Knobs>>;

pub fn knobs() -> SharedKnobs {
    Arc::new(Mutex::new(Knobs::default()))
}

pub fn factory(knobs: SharedKnobs) -> AllocatorFactory {
    Arc::new(move || {
        knobs.lock().expect("knobs lock").instances += 1;
        Ok(Box::new(TestAllocator {
            knobs: knobs.clone(),
            agents: BTreeMap::new(),
            frameworks: BTreeMap::new(),
            filters: Vec::new(),
        }) as Box<dyn AllocatorPolicy>)
    })
}

struct FrameworkState {
    roles: Vec<String>,
    active: bool,
    suppressed: bool,
}

struct AgentState {
    total: Resources,
    /// Allocated per framework.
    allocated: BTreeMap<String, Resources>,
}

pub struct TestAllocator {
    knobs: SharedKnobs,
    agents: BTreeMap<String, AgentState>,
    frameworks: BTreeMap<String, FrameworkState>,
    /// (agent, framework, refuse until ms).
    filters: Vec<(String, String, u64)>,
}

impl TestAllocator {
    fn log(&self, line: String) {
        self.knobs.lock().expect("knobs lock").calls.push(line);
    }

    fn held_by(&self, framework: &str) -> f64 {
        self.agents
            .values()
            .filter_map(|a| a.allocated.get(framework))
            .map(|r| r.scalar("cpus"))
            .sum()
    }
}

impl AllocatorPolicy for TestAllocator {
    fn name(&self) -> &str {
        "test"
    }

    fn add_agent(
        &mut self,
        agent: &AgentSnapshot,
        allocated: &[Allocation],
    ) -> Result<(), PluginError> {
        let mut held: BTreeMap<String, Resources> = BTreeMap::new();
        for a in allocated {
            held.entry(a.framework_id.clone())
                .or_default()
                .add_all(&Resources::from_list(&a.resources));
        }
        let summary: Vec<String> = held
            .iter()
            .map(|(f, r)| format!("{f}={}", r.summary()))
            .collect();
        self.log(format!("add_agent {} [{}]", agent.id, summary.join(" ")));
        self.agents.insert(
            agent.id.clone(),
            AgentState {
                total: Resources::from_list(&agent.resources),
                allocated: held,
            },
        );
        Ok(())
    }

    fn update_agent(&mut self, agent: &AgentSnapshot) -> Result<(), PluginError> {
        let total = Resources::from_list(&agent.resources);
        self.log(format!("update_agent {} {}", agent.id, total.summary()));
        if let Some(a) = self.agents.get_mut(&agent.id) {
            a.total = Resources::from_list(&agent.resources);
        }
        Ok(())
    }

    fn remove_agent(&mut self, agent_id: &str) -> Result<(), PluginError> {
        self.log(format!("remove_agent {agent_id}"));
        self.agents.remove(agent_id);
        Ok(())
    }

    fn add_framework(&mut self, f: &FrameworkSnapshot, active: bool) -> Result<(), PluginError> {
        self.log(format!("add_framework {} active={active}", f.id));
        self.frameworks.insert(
            f.id.clone(),
            FrameworkState {
                roles: f.roles.clone(),
                active,
                suppressed: false,
            },
        );
        Ok(())
    }

    fn update_framework(&mut self, f: &FrameworkSnapshot) -> Result<(), PluginError> {
        if let Some(state) = self.frameworks.get_mut(&f.id) {
            state.roles = f.roles.clone();
        }
        Ok(())
    }

    fn remove_framework(&mut self, id: &str) -> Result<(), PluginError> {
        self.log(format!("remove_framework {id}"));
        self.frameworks.remove(id);
        for agent in self.agents.values_mut() {
            agent.allocated.remove(id);
        }
        Ok(())
    }

    fn activate_framework(&mut self, id: &str) -> Result<(), PluginError> {
        self.log(format!("activate {id}"));
        if let Some(f) = self.frameworks.get_mut(id) {
            f.active = true;
        }
        Ok(())
    }

    fn deactivate_framework(&mut self, id: &str) -> Result<(), PluginError> {
        self.log(format!("deactivate {id}"));
        if let Some(f) = self.frameworks.get_mut(id) {
            f.active = false;
        }
        Ok(())
    }

    fn suppress(&mut self, id: &str, _roles: &[String]) -> Result<(), PluginError> {
        self.log(format!("suppress {id}"));
        if let Some(f) = self.frameworks.get_mut(id) {
            f.suppressed = true;
        }
        Ok(())
    }

    fn revive(&mut self, id: &str, _roles: &[String]) -> Result<(), PluginError> {
        self.log(format!("revive {id}"));
        if let Some(f) = self.frameworks.get_mut(id) {
            f.suppressed = false;
        }
        self.filters.retain(|(_, f, _)| f != id);
        Ok(())
    }

    fn recover(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        resources: &[Resource],
        refuse_until_ms: Option<u64>,
    ) -> Result<(), PluginError> {
        let back = Resources::from_list(resources);
        self.log(format!(
            "recover {agent_id} {framework_id} {} until={refuse_until_ms:?}",
            back.summary()
        ));
        if let Some(error) = self.knobs.lock().expect("knobs lock").fail_recover.take() {
            return Err(error);
        }
        if let Some(held) = self
            .agents
            .get_mut(agent_id)
            .and_then(|a| a.allocated.get_mut(framework_id))
        {
            held.subtract_all(&back);
        }
        if let Some(until) = refuse_until_ms {
            self.filters
                .push((agent_id.to_string(), framework_id.to_string(), until));
        }
        Ok(())
    }

    fn update_allocation(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        before: &[Resource],
        after: &[Resource],
    ) -> Result<(), PluginError> {
        let (before, after) = (Resources::from_list(before), Resources::from_list(after));
        self.log(format!(
            "update_allocation {agent_id} {framework_id} {} -> {}",
            before.summary(),
            after.summary()
        ));
        if let Some(held) = self
            .agents
            .get_mut(agent_id)
            .and_then(|a| a.allocated.get_mut(framework_id))
        {
            held.subtract_all(&before);
            held.add_all(&after);
        }
        Ok(())
    }

    fn set_weight(&mut self, role: &str, weight: f64) -> Result<(), PluginError> {
        self.log(format!("set_weight {role} {weight}"));
        Ok(())
    }

    fn set_quota(&mut self, quota: &Quota) -> Result<(), PluginError> {
        let guarantees = Resources::from_list(&quota.guarantees).summary();
        let limits = Resources::from_list(&quota.limits).summary();
        self.log(format!(
            "set_quota {} guarantees [{guarantees}] limits [{limits}]",
            quota.role
        ));
        Ok(())
    }

    fn allocate(&mut self, now_ms: u64) -> Result<Vec<Grant>, PluginError> {
        let over_allocate = {
            let mut knobs = self.knobs.lock().expect("knobs lock");
            if let Some(error) = knobs.fail_allocate.take() {
                knobs.calls.push("allocate failed".into());
                return Err(error);
            }
            knobs.over_allocate
        };
        self.filters.retain(|(_, _, until)| *until > now_ms);
        let mut grants = Vec::new();
        let agent_ids: Vec<String> = self.agents.keys().cloned().collect();
        for agent_id in agent_ids {
            let mut candidates: Vec<(f64, String, String)> = self
                .frameworks
                .iter()
                .filter(|(_, f)| f.active && !f.suppressed)
                .filter(|(id, _)| {
                    !self
                        .filters
                        .iter()
                        .any(|(a, f, _)| a == &agent_id && &f == id)
                })
                .map(|(id, f)| {
                    let role = f.roles.first().cloned().unwrap_or_else(|| "*".into());
                    (self.held_by(id), id.clone(), role)
                })
                .collect();
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let Some((_, framework_id, role)) = candidates.into_iter().next() else {
                continue;
            };
            let Some(agent) = self.agents.get_mut(&agent_id) else {
                continue;
            };
            let mut free = agent.total.clone();
            for held in agent.allocated.values() {
                free.subtract_all(held);
            }
            let grant = if over_allocate {
                agent.total.clone()
            } else {
                free.allocatable_to(&role)
            };
            if grant.is_empty() {
                continue;
            }
            agent
                .allocated
                .entry(framework_id.clone())
                .or_default()
                .add_all(&grant);
            grants.push(Grant {
                agent_id: agent_id.clone(),
                framework_id,
                role,
                resources: grant.to_vec(),
            });
        }
        Ok(grants)
    }

    fn inspect(&mut self) -> Result<String, PluginError> {
        Ok("{}".into())
    }
}
