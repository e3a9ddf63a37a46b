//! One allocation cycle, shared by every policy. A policy gives the order in which agents are
//! walked and an [`Order`] of (framework, role) candidates; the cycle does the rest, as
//! Mesos' hierarchical allocator does:
//!
//! 1. **Guarantees first.** While some role is below its guarantee, a first pass offers agents
//!    only to candidates under such a role, cut to what the guarantee still lacks (resources
//!    the guarantee does not name come along, as Mesos offers them so tasks can run).
//! 2. **The rest.** A second pass offers to every candidate. Grants to roles that are not
//!    below a guarantee never eat into the headroom that unmet guarantees still need
//!    (unreserved resources of the names guaranteed).
//!
//! Either way a role (and its subtree) is never granted past its limit, reserved resources go
//! only to their role, gpus only to GPU_RESOURCES frameworks, revocable ones only to
//! REVOCABLE_RESOURCES frameworks, a refused offer is not made again before its filter
//! expires, and an offer must be worth it (`min_allocatable`).
//!
//! Cost: agents x (candidates skipped before a grant) filter lookups, plus log(frameworks)
//! per grant to re-place the grantee; no per-agent sorting or string work.

use std::borrow::Cow;

use corral_sdk::allocator::Grant;
use corral_sdk::resources::Resources;
use corral_sdk::types::ResourceValue;

use crate::cluster::{AgentIx, Cluster, FwIx};
use crate::roles::RoleIx;
use crate::scalars::{Scalars, round};

/// Candidates (framework, role), best first.
pub trait Order {
    /// Calls `visit` on candidates best first, skipping subtrees of roles for which `enter`
    /// is false, until `visit` returns true; returns whether it did.
    fn find(
        &self,
        enter: &dyn Fn(RoleIx) -> bool,
        visit: &mut dyn FnMut(FwIx, RoleIx) -> bool,
    ) -> bool;

    /// `framework` was just granted resources under `role`: re-place what changed.
    fn granted(&mut self, cluster: &Cluster, framework: FwIx, role: RoleIx);
}

/// Guarantees and limits in force for this cycle, by role (a policy may derive them from
/// more than `set_quota`, as `priority` does from its queue shares).
#[derive(Debug, Clone, Default)]
pub struct QuotaView {
    pub guarantees: Vec<Scalars>,
    pub limits: Vec<Scalars>,
}

impl QuotaView {
    /// The quota set with `set_quota`.
    pub fn from_cluster(cluster: &Cluster) -> QuotaView {
        let mut view = QuotaView::default();
        for (_, node) in cluster.roles.nodes() {
            view.guarantees.push(node.guarantees.clone());
            view.limits.push(node.limits.clone());
        }
        view
    }

    fn any(&self) -> bool {
        self.guarantees.iter().any(|g| !g.is_zero()) || self.limits.iter().any(|l| !l.is_zero())
    }

    fn guarantee(&self, role: RoleIx) -> Option<&Scalars> {
        self.guarantees.get(role).filter(|g| !g.is_zero())
    }

    fn limit(&self, role: RoleIx) -> Option<&Scalars> {
        self.limits.get(role).filter(|l| !l.is_zero())
    }
}

/// How a policy runs a cycle.
pub struct CycleSpec<'a> {
    /// Agents in the order they are offered.
    pub agents: &'a [AgentIx],
    /// At most this many grants per framework in this cycle (binpack), or no bound.
    pub grants_per_framework: Option<usize>,
    pub quota: &'a QuotaView,
}

/// What unmet guarantees still need, kept current during a cycle.
struct QuotaState {
    active: bool,
    /// Per role: guarantee less what its subtree holds (only positive amounts).
    lacking: Vec<Scalars>,
    /// Roles with something lacking, or below/above one: the first pass enters only these.
    relevant: Vec<bool>,
    /// Unreserved amounts that unmet guarantees need (outermost guaranteed roles).
    headroom: Scalars,
    /// Unreserved, non-revocable free scalars over all agents.
    available: Scalars,
    /// Per role: its subtree's reserved resources that nobody holds. As in Mesos, they count
    /// towards the role's guarantee: a role whose reservations cover its guarantee needs no
    /// headroom from the unreserved pool. Taken at the start of the cycle.
    reserved_free: Vec<Scalars>,
}

impl QuotaState {
    fn new(cluster: &mut Cluster, view: &QuotaView) -> QuotaState {
        let mut state = QuotaState {
            active: view.any(),
            lacking: Vec::new(),
            relevant: Vec::new(),
            headroom: Scalars::default(),
            available: Scalars::default(),
            reserved_free: Vec::new(),
        };
        if state.active {
            state.reserved_free = reserved_free_by_role(cluster);
            let mut available = Scalars::default();
            for agent in cluster.agents.iter().flatten() {
                // Every name on an agent was registered when it was added: no lookup misses.
                for r in agent.free.as_slice() {
                    if r.reservation.is_none()
                        && !r.revocable
                        && let (Some(v), Some(id)) = (r.as_scalar(), cluster.names.find(&r.name))
                    {
                        available.add(id, v);
                    }
                }
            }
            state.available = available;
            state.refresh(cluster, view);
        }
        state
    }

    fn refresh(&mut self, cluster: &Cluster, view: &QuotaView) {
        let roles = &cluster.roles;
        self.lacking = (0..roles.len())
            .map(|r| {
                let mut lacking = Scalars::default();
                if let Some(g) = view.guarantee(r) {
                    for (id, want) in g.iter() {
                        let reserved = self.reserved_free.get(r).map_or(0.0, |s| s.get(id));
                        let short = round(want - roles.node(r).subtree.get(id) - reserved);
                        if short > 0.0 {
                            lacking.add(id, short);
                        }
                    }
                }
                lacking
            })
            .collect();
        self.relevant = vec![false; roles.len()];
        self.headroom = Scalars::default();
        for r in 0..roles.len() {
            if self.lacking[r].is_zero() {
                continue;
            }
            // Outermost: no guaranteed ancestor, so nested guarantees are not counted twice.
            if !roles.path(r).skip(1).any(|a| view.guarantee(a).is_some()) {
                self.headroom.add_all(&self.lacking[r]);
            }
            for a in roles.path(r) {
                self.relevant[a] = true;
            }
            mark_subtree(cluster, r, &mut self.relevant);
        }
    }

    fn unmet_on_path(&self, cluster: &Cluster, role: RoleIx) -> bool {
        self.active && cluster.roles.path(role).any(|r| !self.lacking[r].is_zero())
    }
}

/// Unallocated reserved scalars per role, summed up each role's path (a parent's includes its
/// children's), indexed by role.
fn reserved_free_by_role(cluster: &Cluster) -> Vec<Scalars> {
    let roles = &cluster.roles;
    let mut by_role = vec![Scalars::default(); roles.len()];
    for agent in cluster.agents.iter().flatten() {
        for r in agent.free.as_slice() {
            let (Some(role), Some(amount)) = (r.reservation.as_deref(), r.as_scalar()) else {
                continue;
            };
            let (Some(ix), Some(id)) = (roles.find(role), cluster.names.find(&r.name)) else {
                continue;
            };
            for a in roles.path(ix) {
                by_role[a].add(id, amount);
            }
        }
    }
    by_role
}

fn mark_subtree(cluster: &Cluster, role: RoleIx, marks: &mut [bool]) {
    marks[role] = true;
    for child in &cluster.roles.node(role).children {
        mark_subtree(cluster, *child, marks);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Guarantees,
    Rest,
}

/// Runs one cycle and returns its grants.
pub fn run(cluster: &mut Cluster, order: &mut dyn Order, spec: &CycleSpec, now: u64) -> Vec<Grant> {
    for fw in cluster.frameworks.iter_mut().flatten() {
        fw.filters.expire(now);
    }
    let mut quota = QuotaState::new(cluster, spec.quota);
    let mut counts = vec![0usize; cluster.frameworks.len()];
    // With a bound per framework, the cycle ends once every framework that may be offered
    // anything has reached it (binpack), instead of walking the rest of the agents.
    let wanting = cluster
        .frameworks
        .iter()
        .flatten()
        .filter(|f| f.wanting_roles(&cluster.roles).next().is_some())
        .count();
    let mut saturated = 0usize;
    let mut grants = Vec::new();
    let unmet = quota.active && quota.lacking.iter().any(|l| !l.is_zero());
    let stages: &[Stage] = if unmet {
        &[Stage::Guarantees, Stage::Rest]
    } else {
        &[Stage::Rest]
    };
    for &stage in stages {
        for &agent in spec.agents {
            if spec.grants_per_framework.is_some() && saturated >= wanting {
                break;
            }
            let mut tried: Vec<(FwIx, RoleIx)> = Vec::new();
            // An agent with nothing worth offering is skipped at once.
            while let Some(a) = cluster.agent(agent)
                && cluster.options.allocatable(&a.free)
            {
                let mut chosen: Option<(FwIx, RoleIx, Resources)> = None;
                {
                    let cluster_ref: &Cluster = cluster;
                    let quota_ref = &quota;
                    let enter = |role: RoleIx| stage == Stage::Rest || quota_ref.relevant[role];
                    let mut visit = |fw: FwIx, role: RoleIx| {
                        if tried.contains(&(fw, role))
                            || spec
                                .grants_per_framework
                                .is_some_and(|max| counts[fw] >= max)
                        {
                            return false;
                        }
                        match offer_for(
                            cluster_ref,
                            quota_ref,
                            spec.quota,
                            stage,
                            agent,
                            fw,
                            role,
                            now,
                        ) {
                            Some(offer) => {
                                chosen = Some((fw, role, offer));
                                true
                            }
                            None => false,
                        }
                    };
                    order.find(&enter, &mut visit);
                }
                let Some((fw, role, offer)) = chosen else {
                    break;
                };
                tried.push((fw, role));
                if quota.active {
                    let unreserved = cluster.unreserved_scalars_of(offer.as_slice());
                    quota.available.sub_all(&unreserved);
                }
                cluster.grant(agent, fw, role, &offer);
                if quota.active {
                    quota.refresh(cluster, spec.quota);
                }
                order.granted(cluster, fw, role);
                counts[fw] += 1;
                if spec.grants_per_framework == Some(counts[fw]) {
                    saturated += 1;
                }
                if let (Some(a), Some(f)) = (cluster.agent(agent), cluster.framework(fw)) {
                    grants.push(Grant {
                        agent_id: a.id.clone(),
                        framework_id: f.info.id.clone(),
                        role: cluster.roles.node(role).name.clone(),
                        resources: offer.to_vec(),
                    });
                }
            }
        }
        if stage == Stage::Guarantees {
            quota.refresh(cluster, spec.quota);
        }
    }
    grants
}

/// What `fw` would be offered of `agent` under `role` now, or `None`.
#[allow(clippy::too_many_arguments)]
fn offer_for(
    cluster: &Cluster,
    quota: &QuotaState,
    view: &QuotaView,
    stage: Stage,
    agent: AgentIx,
    fw: FwIx,
    role: RoleIx,
    now: u64,
) -> Option<Resources> {
    let a = cluster.agent(agent)?;
    let f = cluster.framework(fw)?;
    if a.has_gpus && cluster.options.filter_gpu_agents && !f.gpu {
        return None;
    }
    let unmet = quota.unmet_on_path(cluster, role);
    if stage == Stage::Guarantees && !unmet {
        return None;
    }
    let usable: Cow<Resources> = if a.plain {
        Cow::Borrowed(&a.free)
    } else {
        let name = &cluster.roles.node(role).name;
        Cow::Owned(a.free.filter(|r| {
            r.reservation
                .as_deref()
                .is_none_or(|reserved| reserved == name)
                && (f.gpu || r.name != "gpus")
                && (f.revocable || !r.revocable)
        }))
    };
    let offer = if quota.active {
        let caps = caps(cluster, quota, view, stage, role, unmet);
        if stage == Stage::Guarantees
            && !usable.iter().any(|r| {
                r.as_scalar().is_some_and(|v| v > 0.0)
                    && cluster.names.find(&r.name).is_some_and(|id| {
                        cluster
                            .roles
                            .path(role)
                            .any(|p| quota.lacking[p].get(id) > 0.0)
                    })
            })
        {
            return None;
        }
        Cow::Owned(cut(cluster, &usable, &caps))
    } else {
        usable
    };
    if !cluster.options.allocatable(&offer) || f.filters.refuses(agent, &offer, now) {
        return None;
    }
    Some(offer.into_owned())
}

/// Per scalar id: (cap on all of it, cap on its unreserved part).
type Caps = Vec<(usize, Option<f64>, Option<f64>)>;

fn caps(
    cluster: &Cluster,
    quota: &QuotaState,
    view: &QuotaView,
    stage: Stage,
    role: RoleIx,
    unmet: bool,
) -> Caps {
    let mut caps: Caps = Vec::new();
    let mut cap = |id: usize, all: Option<f64>, unreserved: Option<f64>| {
        let min = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, None) => x,
            (None, y) => y,
        };
        match caps.iter_mut().find(|c| c.0 == id) {
            Some(c) => {
                c.1 = min(c.1, all);
                c.2 = min(c.2, unreserved);
            }
            None => caps.push((id, all, unreserved)),
        }
    };
    for r in cluster.roles.path(role) {
        if let Some(limit) = view.limit(r) {
            for (id, max) in limit.iter() {
                let left = round(max - cluster.roles.node(r).subtree.get(id)).max(0.0);
                cap(id, Some(left), None);
            }
        }
        if stage == Stage::Guarantees {
            for (id, lacking) in quota.lacking[r].iter() {
                cap(id, Some(lacking), None);
            }
        }
    }
    if stage == Stage::Rest && !unmet {
        for (id, need) in quota.headroom.iter() {
            let spare = round(quota.available.get(id) - need).max(0.0);
            cap(id, None, Some(spare));
        }
    }
    caps
}

/// `offer` with its scalars cut down to `caps`.
fn cut(cluster: &Cluster, offer: &Resources, caps: &Caps) -> Resources {
    if caps.is_empty() {
        return offer.clone();
    }
    let mut left: Caps = caps.clone();
    let mut out = Resources::new();
    for r in offer.iter() {
        let (ResourceValue::Scalar(value), Some(id)) = (&r.value, cluster.names.find(&r.name))
        else {
            out.add(r);
            continue;
        };
        let Some(c) = left.iter_mut().find(|c| c.0 == id) else {
            out.add(r);
            continue;
        };
        let mut take = *value;
        if let Some(all) = c.1 {
            take = take.min(all);
        }
        let unreserved = r.reservation.is_none() && !r.revocable;
        if unreserved && let Some(u) = c.2 {
            take = take.min(u);
        }
        take = round(take.max(0.0));
        if let Some(all) = c.1.as_mut() {
            *all = round(*all - take);
        }
        if unreserved && let Some(u) = c.2.as_mut() {
            *u = round(*u - take);
        }
        if take > 0.0 {
            let mut piece = r.clone();
            piece.value = ResourceValue::Scalar(take);
            out.add(&piece);
        }
    }
    out
}
