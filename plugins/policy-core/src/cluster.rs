//! The cluster as a policy sees it, kept up to date by the host's events: agents and
//! frameworks interned to indexes (strings only at the boundary), what each framework holds
//! on each agent under which role, free resources per agent, and the sums that shares are made
//! of (per framework and role, per role subtree, cluster totals), all updated incrementally.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use corral_sdk::allocator::{Allocation, Quota};
use corral_sdk::resources::Resources;
use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};

use crate::filters::Filters;
use crate::options::Options;
use crate::roles::{RoleIx, RoleTree};
use crate::scalars::{ScalarNames, Scalars};

pub type AgentIx = usize;
pub type FwIx = usize;

/// The capability that lets a framework receive `gpus`.
pub const GPU_CAPABILITY: &str = "GPU_RESOURCES";
/// The capability that lets a framework receive revocable resources.
pub const REVOCABLE_CAPABILITY: &str = "REVOCABLE_RESOURCES";
/// The role of a framework that names none (and of an allocation with an empty role).
pub const DEFAULT_ROLE: &str = "*";

/// What one framework holds on one agent under one role.
#[derive(Debug, Clone)]
pub struct Held {
    pub framework: FwIx,
    pub role: RoleIx,
    pub resources: Resources,
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub hostname: String,
    pub total: Resources,
    pub total_scalars: Scalars,
    /// `total` less everything held; kept in step with `held`.
    pub free: Resources,
    pub held: Vec<Held>,
    /// No reserved, revocable or gpu resources: every framework may use all of `free`.
    pub plain: bool,
    pub has_gpus: bool,
}

impl Agent {
    fn refresh_free(&mut self) {
        let mut free = self.total.clone();
        for held in &self.held {
            free.subtract_all(held.resources.as_slice());
        }
        self.free = free;
    }
}

#[derive(Debug, Clone)]
pub struct Framework {
    pub info: FrameworkInfo,
    /// Arrival order (first subscription first), for FIFO policies.
    pub seq: u64,
    pub active: bool,
    /// The framework's roles, `*` when it names none.
    pub roles: Vec<RoleIx>,
    pub suppressed: BTreeSet<String>,
    pub gpu: bool,
    pub revocable: bool,
    pub filters: Filters,
    /// Scalars held over all agents, by role.
    pub held: Vec<(RoleIx, Scalars)>,
}

impl Framework {
    pub fn held_in(&self, role: RoleIx) -> Option<&Scalars> {
        self.held.iter().find(|(r, _)| *r == role).map(|(_, s)| s)
    }

    fn held_in_mut(&mut self, role: RoleIx) -> &mut Scalars {
        match self.held.iter().position(|(r, _)| *r == role) {
            Some(i) => &mut self.held[i].1,
            None => {
                self.held.push((role, Scalars::default()));
                let last = self.held.len() - 1;
                &mut self.held[last].1
            }
        }
    }

    /// Everything held, over all roles.
    pub fn held_total(&self) -> Scalars {
        let mut total = Scalars::default();
        for (_, s) in &self.held {
            total.add_all(s);
        }
        total
    }

    /// The roles it may be offered now: active and not suppressed.
    pub fn wanting_roles<'a>(&'a self, roles: &'a RoleTree) -> impl Iterator<Item = RoleIx> + 'a {
        self.roles
            .iter()
            .copied()
            .filter(move |r| self.active && !self.suppressed.contains(&roles.node(*r).name))
    }
}

#[derive(Debug, Default)]
pub struct Cluster {
    pub options: Options,
    pub names: ScalarNames,
    pub roles: RoleTree,
    /// Slots by index; a removed agent or framework leaves `None` (indexes are not reused,
    /// so a stale index can never name another agent).
    pub agents: Vec<Option<Agent>>,
    agent_ix: HashMap<String, AgentIx>,
    /// Agent indexes in id order, the order DRF walks them.
    pub agent_order: BTreeMap<String, AgentIx>,
    pub frameworks: Vec<Option<Framework>>,
    framework_ix: HashMap<String, FwIx>,
    pub framework_order: BTreeMap<String, FwIx>,
    next_seq: u64,
    /// Sum of every agent's total scalars.
    pub totals: Scalars,
}

impl Cluster {
    pub fn agent(&self, ix: AgentIx) -> Option<&Agent> {
        self.agents.get(ix).and_then(Option::as_ref)
    }

    pub fn framework(&self, ix: FwIx) -> Option<&Framework> {
        self.frameworks.get(ix).and_then(Option::as_ref)
    }

    pub fn agent_index(&self, id: &str) -> Option<AgentIx> {
        self.agent_ix.get(id).copied()
    }

    pub fn framework_index(&self, id: &str) -> Option<FwIx> {
        self.framework_ix.get(id).copied()
    }

    /// The scalars of `resources`, by interned name.
    pub fn scalars_of(&mut self, resources: &[Resource]) -> Scalars {
        let mut scalars = Scalars::default();
        for r in resources {
            if let Some(v) = r.as_scalar() {
                let id = self.names.id(&r.name);
                scalars.add(id, v);
            }
        }
        scalars
    }

    /// Unreserved, non-revocable scalars of `resources` (what headroom is counted in).
    pub fn unreserved_scalars_of(&mut self, resources: &[Resource]) -> Scalars {
        let mut scalars = Scalars::default();
        for r in resources
            .iter()
            .filter(|r| r.reservation.is_none() && !r.revocable)
        {
            if let Some(v) = r.as_scalar() {
                let id = self.names.id(&r.name);
                scalars.add(id, v);
            }
        }
        scalars
    }

    fn role_of(&mut self, name: &str) -> RoleIx {
        self.roles
            .ensure(if name.is_empty() { DEFAULT_ROLE } else { name })
    }

    /// Counts `resources` as held by `framework` under `role` on `agent` (free not refreshed).
    fn hold(&mut self, agent: AgentIx, framework: FwIx, role: RoleIx, resources: &[Resource]) {
        self.hold_bag(agent, framework, role, &Resources::from_list(resources));
    }

    /// [`Cluster::hold`] for resources already normalized (a grant), without re-normalizing.
    fn hold_bag(&mut self, agent: AgentIx, framework: FwIx, role: RoleIx, bag: &Resources) {
        let resources = bag.as_slice();
        let scalars = self.scalars_of(resources);
        self.roles.add_held(role, &scalars, 1.0);
        if let Some(Some(fw)) = self.frameworks.get_mut(framework) {
            fw.held_in_mut(role).add_all(&scalars);
        }
        if let Some(Some(a)) = self.agents.get_mut(agent) {
            match a
                .held
                .iter_mut()
                .find(|h| h.framework == framework && h.role == role)
            {
                Some(h) => h.resources.add_all(resources),
                None => a.held.push(Held {
                    framework,
                    role,
                    resources: bag.clone(),
                }),
            }
        }
    }

    /// Records a grant made by a cycle: held, and no longer free.
    pub fn grant(&mut self, agent: AgentIx, framework: FwIx, role: RoleIx, offer: &Resources) {
        self.hold_bag(agent, framework, role, offer);
        if let Some(Some(a)) = self.agents.get_mut(agent) {
            if a.free == *offer {
                // The whole agent (the usual grant): nothing to subtract entry by entry.
                a.free = Resources::new();
            } else {
                a.free.subtract_all(offer.as_slice());
            }
        }
    }

    /// Takes `resources` back from what `framework` holds on `agent`, role by role. Offers
    /// are made per role, so what comes back whole (a declined offer, what a task left) is
    /// taken from the one role that holds all of it; otherwise each resource is taken from its
    /// reserved role first, then from every role holding that name until all of it is back
    /// (the recover call names no role: taking only what the first role holds would lose the
    /// rest and leave the cluster's view of the agent out of step with the host's).
    fn release(&mut self, agent: AgentIx, framework: FwIx, resources: &[Resource]) {
        let Some(Some(a)) = self.agents.get_mut(agent) else {
            return;
        };
        let mut released: Vec<(RoleIx, Resources)> = Vec::new();
        let mut take = |held: &mut Held, what: &[Resource]| {
            let before = held.resources.clone();
            held.resources.subtract_all(what);
            let mut gone = before;
            gone.subtract_all(held.resources.as_slice());
            match released.iter_mut().find(|(role, _)| *role == held.role) {
                Some((_, bag)) => bag.add_all(gone.as_slice()),
                None => released.push((held.role, gone.clone())),
            }
            gone
        };
        let whole = Resources::from_list(resources);
        let mine = |h: &Held| h.framework == framework;
        let holder = a
            .held
            .iter()
            .position(|h| mine(h) && h.resources == whole)
            .or_else(|| {
                a.held
                    .iter()
                    .position(|h| mine(h) && h.resources.contains(resources))
            });
        if let Some(index) = holder {
            take(&mut a.held[index], resources);
        } else {
            for r in resources {
                let mut left = Resources::from_list(std::slice::from_ref(r));
                let reserved_role = r.reservation.as_deref();
                let mut order: Vec<usize> = Vec::new();
                for (i, h) in a.held.iter().enumerate() {
                    if mine(h)
                        && reserved_role.is_some_and(|name| self.roles.node(h.role).name == name)
                    {
                        order.insert(0, i);
                    } else if mine(h) && h.resources.iter().any(|e| e.name == r.name) {
                        order.push(i);
                    }
                }
                for i in order {
                    if left.is_empty() {
                        break;
                    }
                    let gone = take(&mut a.held[i], left.as_slice());
                    left.subtract_all(gone.as_slice());
                }
            }
        }
        a.held.retain(|h| !h.resources.is_empty());
        a.refresh_free();
        for (role, gone) in released {
            let scalars = self.scalars_of(gone.as_slice());
            self.roles.add_held(role, &scalars, -1.0);
            if let Some(Some(fw)) = self.frameworks.get_mut(framework) {
                fw.held_in_mut(role).sub_all(&scalars);
            }
        }
    }

    pub fn add_agent(&mut self, info: AgentInfo, allocated: Vec<Allocation>) {
        if self.agent_ix.contains_key(&info.id) {
            self.remove_agent(&info.id.clone());
        }
        let total = Resources::from_list(&info.resources);
        let total_scalars = self.scalars_of(total.as_slice());
        self.totals.add_all(&total_scalars);
        let ix = self.agents.len();
        let plain = total
            .iter()
            .all(|r| r.reservation.is_none() && !r.revocable && r.name != "gpus");
        let has_gpus = total.scalar("gpus") > 0.0;
        self.agents.push(Some(Agent {
            id: info.id.clone(),
            hostname: info.hostname,
            free: total.clone(),
            total,
            total_scalars,
            held: Vec::new(),
            plain,
            has_gpus,
        }));
        self.agent_ix.insert(info.id.clone(), ix);
        self.agent_order.insert(info.id, ix);
        for allocation in allocated {
            if !self.framework_ix.contains_key(&allocation.framework_id) {
                // Held by a framework the policy does not know yet: keep it, inactive, until
                // its add_framework, so what it holds is counted from the start.
                let placeholder = FrameworkInfo {
                    id: allocation.framework_id.clone(),
                    name: String::new(),
                    roles: vec![allocation.role.clone()],
                    capabilities: Vec::new(),
                    principal: None,
                };
                self.add_framework(placeholder, false);
            }
            let Some(framework) = self.framework_index(&allocation.framework_id) else {
                continue;
            };
            let role = self.role_of(&allocation.role);
            self.hold(ix, framework, role, &allocation.resources);
        }
        if let Some(Some(a)) = self.agents.get_mut(ix) {
            a.refresh_free();
        }
    }

    pub fn update_agent(&mut self, info: AgentInfo) {
        let Some(ix) = self.agent_ix.get(&info.id).copied() else {
            self.add_agent(info, Vec::new());
            return;
        };
        let total = Resources::from_list(&info.resources);
        let total_scalars = self.scalars_of(total.as_slice());
        if let Some(Some(a)) = self.agents.get_mut(ix) {
            self.totals.sub_all(&a.total_scalars);
            self.totals.add_all(&total_scalars);
            a.plain = total
                .iter()
                .all(|r| r.reservation.is_none() && !r.revocable && r.name != "gpus");
            a.has_gpus = total.scalar("gpus") > 0.0;
            a.total = total;
            a.total_scalars = total_scalars;
            a.hostname = info.hostname;
            a.refresh_free();
        }
    }

    pub fn remove_agent(&mut self, id: &str) {
        let Some(ix) = self.agent_ix.remove(id) else {
            return;
        };
        self.agent_order.remove(id);
        let Some(agent) = self.agents.get_mut(ix).and_then(Option::take) else {
            return;
        };
        self.totals.sub_all(&agent.total_scalars);
        for held in agent.held {
            let scalars = self.scalars_of(held.resources.as_slice());
            self.roles.add_held(held.role, &scalars, -1.0);
            if let Some(Some(fw)) = self.frameworks.get_mut(held.framework) {
                fw.held_in_mut(held.role).sub_all(&scalars);
            }
        }
        for fw in self.frameworks.iter_mut().flatten() {
            fw.filters.remove_agent(ix);
        }
    }

    fn set_info(&mut self, ix: FwIx, info: FrameworkInfo) {
        let names: Vec<String> = if info.roles.is_empty() {
            vec![DEFAULT_ROLE.to_string()]
        } else {
            info.roles.clone()
        };
        let roles: Vec<RoleIx> = names.iter().map(|n| self.role_of(n)).collect();
        if let Some(Some(fw)) = self.frameworks.get_mut(ix) {
            fw.gpu = info.capabilities.iter().any(|c| c == GPU_CAPABILITY);
            fw.revocable = info.capabilities.iter().any(|c| c == REVOCABLE_CAPABILITY);
            fw.roles = roles;
            fw.info = info;
        }
    }

    pub fn add_framework(&mut self, info: FrameworkInfo, active: bool) {
        if let Some(ix) = self.framework_ix.get(&info.id).copied() {
            if let Some(Some(fw)) = self.frameworks.get_mut(ix) {
                fw.active = active;
            }
            self.set_info(ix, info);
            return;
        }
        let ix = self.frameworks.len();
        self.next_seq += 1;
        self.frameworks.push(Some(Framework {
            info: info.clone(),
            seq: self.next_seq,
            active,
            roles: Vec::new(),
            suppressed: BTreeSet::new(),
            gpu: false,
            revocable: false,
            filters: Filters::default(),
            held: Vec::new(),
        }));
        self.framework_ix.insert(info.id.clone(), ix);
        self.framework_order.insert(info.id.clone(), ix);
        self.set_info(ix, info);
    }

    pub fn update_framework(&mut self, info: FrameworkInfo) {
        match self.framework_ix.get(&info.id).copied() {
            Some(ix) => self.set_info(ix, info),
            None => self.add_framework(info, true),
        }
    }

    pub fn remove_framework(&mut self, id: &str) {
        let Some(ix) = self.framework_ix.remove(id) else {
            return;
        };
        self.framework_order.remove(id);
        self.frameworks[ix] = None;
        for agent in self.agents.iter_mut().flatten() {
            if agent.held.iter().any(|h| h.framework == ix) {
                for held in agent.held.iter().filter(|h| h.framework == ix) {
                    let mut scalars = Scalars::default();
                    for r in held.resources.iter() {
                        if let Some(v) = r.as_scalar() {
                            scalars.add(self.names.id(&r.name), v);
                        }
                    }
                    self.roles.add_held(held.role, &scalars, -1.0);
                }
                agent.held.retain(|h| h.framework != ix);
                agent.refresh_free();
            }
        }
    }

    fn with_framework(&mut self, id: &str, change: impl FnOnce(&mut Framework)) {
        if let Some(ix) = self.framework_ix.get(id).copied()
            && let Some(Some(fw)) = self.frameworks.get_mut(ix)
        {
            change(fw);
        }
    }

    pub fn set_active(&mut self, id: &str, active: bool) {
        self.with_framework(id, |fw| fw.active = active);
    }

    /// `roles` empty means all of the framework's roles.
    fn selected_roles(&self, id: &str, roles: Vec<String>) -> Vec<String> {
        if !roles.is_empty() {
            return roles;
        }
        self.framework_index(id)
            .and_then(|ix| self.framework(ix))
            .map(|fw| {
                fw.roles
                    .iter()
                    .map(|r| self.roles.node(*r).name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn suppress(&mut self, id: &str, roles: Vec<String>) {
        let roles = self.selected_roles(id, roles);
        self.with_framework(id, |fw| fw.suppressed.extend(roles));
    }

    pub fn revive(&mut self, id: &str, roles: Vec<String>) {
        let roles = self.selected_roles(id, roles);
        self.with_framework(id, |fw| {
            for role in &roles {
                fw.suppressed.remove(role);
            }
            fw.filters.clear();
        });
    }

    pub fn recover(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        resources: Vec<Resource>,
        refuse_until: Option<u64>,
    ) {
        let Some(agent) = self.agent_index(agent_id) else {
            return;
        };
        let framework = self.framework_index(framework_id).unwrap_or(usize::MAX);
        self.release(agent, framework, &resources);
        if let Some(until) = refuse_until
            && let Some(Some(fw)) = self.frameworks.get_mut(framework)
        {
            fw.filters
                .add(agent, Resources::from_list(&resources), until);
        }
    }

    pub fn update_allocation(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        before: Vec<Resource>,
        after: Vec<Resource>,
    ) {
        let Some(agent) = self.agent_index(agent_id) else {
            return;
        };
        let framework = self.framework_index(framework_id).unwrap_or(usize::MAX);
        // The new shape is held under the role it is reserved for when the framework has it,
        // else under the role that held the old shape.
        let old_role = self
            .agent(agent)
            .and_then(|a| a.held.iter().find(|h| h.framework == framework))
            .map(|h| h.role);
        let reserved = after
            .iter()
            .find_map(|r| r.reservation.clone())
            .and_then(|name| self.roles.find(&name))
            .filter(|role| {
                self.framework(framework)
                    .is_some_and(|fw| fw.roles.contains(role))
            });
        self.release(agent, framework, &before);
        let role = match reserved.or(old_role) {
            Some(role) => role,
            None => self.role_of(DEFAULT_ROLE),
        };
        self.hold(agent, framework, role, &after);
        if let Some(Some(a)) = self.agents.get_mut(agent) {
            a.refresh_free();
        }
    }

    /// Ignores (with a log line) weights that are not positive numbers.
    pub fn set_weight(&mut self, policy: &str, role: &str, weight: f64) {
        if weight.is_finite() && weight > 0.0 {
            let ix = self.roles.ensure(role);
            self.roles.set_weight(ix, weight);
        } else {
            corral_sdk::log::warn(&format!(
                "{policy}: ignoring weight {weight} for role {role}: weights must be positive"
            ));
        }
    }

    pub fn set_quota(&mut self, quota: Quota) {
        let guarantees = self.scalars_of(&quota.guarantees);
        let limits = self.scalars_of(&quota.limits);
        let ix = self.roles.ensure(&quota.role);
        self.roles.set_quota(ix, guarantees, limits);
    }

    /// What each framework holds, as SDK resources, by framework index.
    pub fn held_by_framework(&self) -> HashMap<FwIx, Resources> {
        let mut held: HashMap<FwIx, Resources> = HashMap::new();
        for agent in self.agents.iter().flatten() {
            for h in &agent.held {
                held.entry(h.framework)
                    .or_default()
                    .add_all(h.resources.as_slice());
            }
        }
        held
    }

    /// Every agent's total resources.
    pub fn total_resources(&self) -> Resources {
        let mut total = Resources::new();
        for agent in self.agents.iter().flatten() {
            total.add_all(agent.total.as_slice());
        }
        total
    }
}
