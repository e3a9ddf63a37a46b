//! Dynamic reservations: the operator's RESERVE_RESOURCES / UNRESERVE_RESOURCES and the
//! RESERVE / UNRESERVE offer operations. The master keeps each agent's dynamic reservations
//! (by role and principal), applies them on top of what the agent reports (at every
//! re-registration and after a master restart) and persists them as
//! `reservations/<agent-id>`. Static reservations (`--resources "cpus(eng):2"`) come with the
//! agent and need nothing here.

use std::collections::BTreeMap;

use corral_api::operator_roles::ReservationRequest;
use corral_api::resources::{Resources, normalize};
use corral_api::v1::{AgentId, FrameworkId, ReservationType, Resource};
use corral_http::error::ApiError;

use super::allocation::AllocatorEvent;
use super::core::{Effect, MasterCore};
use super::registry;
use super::roles::validate_role;

/// One agent's dynamic reservations, by (role, principal); the principal is "" when none.
pub type DynamicReservations = BTreeMap<(String, String), Resources>;

/// What one (un)reservation turns into what: `from` leaves the agent's total, `to` joins it.
struct Plan {
    from: Resources,
    to: Resources,
    /// The reserved resources by (role, principal).
    reserved: Vec<((String, String), Resource)>,
}

/// The dynamic reservation on top of `r`'s stack: (role, principal).
fn top_dynamic(r: &Resource) -> Result<(String, String), String> {
    let Some(top) = r.reservations.last() else {
        return Err(format!(
            "Resource '{}' has no 'reservations': say which role it is (to be) reserved for",
            r.name
        ));
    };
    if top.kind != ReservationType::Dynamic {
        return Err(format!(
            "Resource '{}' must carry a DYNAMIC reservation on top of its 'reservations'",
            r.name
        ));
    }
    validate_role(&top.role)?;
    if top.role == "*" {
        return Err("Resources cannot be reserved for role '*'".into());
    }
    Ok((top.role.clone(), top.principal.clone().unwrap_or_default()))
}

fn plan(resources: &[Resource], reserve: bool) -> Result<Plan, String> {
    if resources.is_empty() {
        return Err("No resources given".into());
    }
    let mut out = Plan {
        from: Resources::new(),
        to: Resources::new(),
        reserved: Vec::new(),
    };
    for r in resources {
        let key = top_dynamic(r)?;
        let mut reserved = r.clone();
        reserved.allocation_info = None;
        reserved.role = None;
        let mut unreserved = reserved.clone();
        unreserved.reservations.pop();
        let (reserved, unreserved) = (normalize(reserved), normalize(unreserved));
        if reserve {
            out.from.add(&unreserved);
            out.to.add(&reserved);
        } else {
            out.from.add(&reserved);
            out.to.add(&unreserved);
        }
        out.reserved.push((key, reserved));
    }
    if out.from.is_empty() {
        return Err("The resources are empty".into());
    }
    Ok(out)
}

impl MasterCore {
    /// The agent's dynamic reservations as stored.
    fn reservation_list(&self, agent_id: &AgentId) -> Vec<Resource> {
        self.reservations
            .get(agent_id)
            .map(|by_key| by_key.values().flat_map(|r| r.to_vec()).collect())
            .unwrap_or_default()
    }

    /// Unreserving needs a matching reservation of the same role and principal.
    fn check_held(&self, agent_id: &AgentId, plan: &Plan) -> Result<(), String> {
        let held = self.reservations.get(agent_id);
        let mut wanted: DynamicReservations = BTreeMap::new();
        for (key, r) in &plan.reserved {
            wanted.entry(key.clone()).or_default().add(r);
        }
        for ((role, principal), want) in &wanted {
            let have = held.and_then(|h| h.get(&(role.clone(), principal.clone())));
            if have.is_some_and(|have| have.contains(want)) {
                continue;
            }
            let others: Vec<String> = held
                .map(|h| {
                    h.keys()
                        .filter(|(r, p)| r == role && p != principal)
                        .map(|(_, p)| format!("'{p}'"))
                        .collect()
                })
                .unwrap_or_default();
            let mut message = format!(
                "Agent {agent_id} has no dynamic reservation of {} for role '{role}' by \
                 principal '{principal}' (it holds {})",
                want.summary(),
                have.map_or("none".to_string(), |h| h.summary())
            );
            if !others.is_empty() {
                message.push_str(&format!(
                    "; role '{role}' has reservations by other principals: {}",
                    others.join(", ")
                ));
            }
            return Err(message);
        }
        Ok(())
    }

    /// Changes the agent's total and the recorded reservations, persists, and tells the
    /// allocator the agent's new total.
    fn apply_plan(&mut self, agent_id: &AgentId, plan: &Plan, reserve: bool) {
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.total.subtract_all(&plan.from);
            agent.total.add_all(&plan.to);
        }
        let by_key = self.reservations.entry(agent_id.clone()).or_default();
        for (key, r) in &plan.reserved {
            let bag = by_key.entry(key.clone()).or_default();
            if reserve {
                bag.add(r);
            } else {
                bag.subtract(r);
            }
        }
        by_key.retain(|_, bag| !bag.is_empty());
        if by_key.is_empty() {
            self.reservations.remove(agent_id);
        }
        let list = self.reservation_list(agent_id);
        self.effect(Effect::Persist(vec![registry::put_reservations(
            agent_id, &list,
        )]));
        if let Some(agent) = self.agents.get(agent_id).filter(|a| a.connected()) {
            self.allocator(AllocatorEvent::UpdateAgent(agent.snapshot()));
        }
        self.request_allocation();
    }

    /// RESERVE_RESOURCES (`reserve`) or UNRESERVE_RESOURCES from the operator. Outstanding
    /// offers on the agent are rescinded when the resources are only free counting them.
    pub fn operator_reservation(
        &mut self,
        request: ReservationRequest,
        reserve: bool,
    ) -> Result<(), ApiError> {
        let agent_id = request.agent_id;
        let Some(agent) = self.agents.get(&agent_id) else {
            return Err(ApiError::bad_request(format!(
                "No agent found with ID '{agent_id}'"
            )));
        };
        if !agent.connected() {
            return Err(ApiError::conflict(format!(
                "Agent {agent_id} is not connected"
            )));
        }
        let plan = plan(&request.resources, reserve).map_err(ApiError::bad_request)?;
        if !reserve {
            self.check_held(&agent_id, &plan)
                .map_err(ApiError::conflict)?;
        }
        let unallocated = self.agent_unallocated(&agent_id);
        let (_, offered) = self.agent_used(&agent_id);
        let mut available = unallocated.clone();
        available.add_all(&offered);
        if !available.contains(&plan.from) {
            let what = if reserve { "unreserved" } else { "reserved" };
            return Err(ApiError::conflict(format!(
                "Agent {agent_id} does not have {} {what} and unused (it has {})",
                plan.from.summary(),
                available.summary()
            )));
        }
        if !unallocated.contains(&plan.from) {
            for offer_id in self.offers_on_agent(&agent_id) {
                self.rescind_offer(&offer_id, true);
            }
        }
        tracing::info!(agent = %agent_id, resources = %plan.to.summary(), reserve,
            "operator changed reservations");
        self.apply_plan(&agent_id, &plan, reserve);
        Ok(())
    }

    /// RESERVE or UNRESERVE inside an ACCEPT, on `remaining` (what is left of the offers).
    /// The reservation's role must be the offers' role and its principal the framework's.
    pub(super) fn offer_reservation(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        resources: &[Resource],
        reserve: bool,
        remaining: &mut Resources,
    ) -> Result<(), String> {
        let plan = plan(resources, reserve)?;
        let principal = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.info.principal.clone())
            .unwrap_or_default();
        for ((reserved_role, reserved_principal), _) in &plan.reserved {
            if reserved_role != role {
                return Err(format!(
                    "The reservation's role '{reserved_role}' is not the offers' role '{role}'"
                ));
            }
            if reserve && reserved_principal != &principal {
                return Err(format!(
                    "The reservation's principal '{reserved_principal}' is not the \
                     framework's principal '{principal}'"
                ));
            }
        }
        if !reserve {
            self.check_held(agent_id, &plan)?;
        }
        if !remaining.contains(&plan.from) {
            return Err(format!(
                "The offers do not hold {} (left: {})",
                plan.from.summary(),
                remaining.summary()
            ));
        }
        remaining.subtract_all(&plan.from);
        remaining.add_all(&plan.to);
        tracing::info!(framework = %framework_id, agent = %agent_id,
            resources = %plan.to.summary(), reserve, "framework changed reservations");
        self.apply_plan(agent_id, &plan, reserve);
        self.allocator(AllocatorEvent::UpdateAllocation {
            agent_id: agent_id.value.clone(),
            framework_id: framework_id.value.clone(),
            before: plan.from.to_vec(),
            after: plan.to.to_vec(),
        });
        Ok(())
    }

    /// Reservations from the registry at start (before agents are recovered).
    pub fn recover_reservations(&mut self, stored: Vec<(AgentId, Vec<Resource>)>) {
        for (agent_id, list) in stored {
            let by_key = self.reservations.entry(agent_id.clone()).or_default();
            for r in list {
                match top_dynamic(&r) {
                    Ok(key) => by_key.entry(key).or_default().add(&r),
                    Err(error) => {
                        tracing::error!(agent = %agent_id, %error, "skipping a stored reservation");
                    }
                }
            }
        }
    }

    /// Puts the agent's dynamic reservations on top of the total it reported. A part the
    /// agent no longer has unreserved is skipped with a warning (and kept for later).
    pub(super) fn reapply_reservations(&mut self, agent_id: &AgentId) {
        let Some(by_key) = self.reservations.get(agent_id) else {
            return;
        };
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return;
        };
        for bag in by_key.values() {
            for reserved in bag.iter() {
                let mut unreserved = reserved.clone();
                unreserved.reservations.pop();
                unreserved.role = None;
                let unreserved = Resources::from_list([&unreserved]);
                if agent.total.contains(&unreserved) {
                    agent.total.subtract_all(&unreserved);
                    agent.total.add(reserved);
                } else {
                    tracing::warn!(agent = %agent_id, reservation = %corral_api::resources::describe(reserved),
                        "the agent no longer has what this reservation needs; not applied");
                }
            }
        }
    }
}
