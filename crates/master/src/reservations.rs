//! Dynamic reservations: the operator's RESERVE_RESOURCES / UNRESERVE_RESOURCES and the
//! RESERVE / UNRESERVE offer operations. The master keeps each agent's dynamic reservations
//! (by role and principal), applies them on top of what the agent reports (at every
//! re-registration and after a master restart) and persists them as
//! `reservations/<agent-id>`. Static reservations (`--resources "cpus(eng):2"`) come with the
//! agent and need nothing here.

use corral_api::operator_roles::ReservationRequest;
use corral_api::resources::Resources;
use corral_api::v1::{AgentId, FrameworkId, Resource};

use super::allocator_events::AllocatorEvent;
use super::core::MasterCore;
use super::core_error::CoreError;
use super::effects::Effect;
use super::registry_records;
use super::reservation_plan::{
    DynamicReservations, ReservationPlan, apply_to_held, check_held, plan, top_dynamic,
};

impl MasterCore {
    /// The agent's dynamic reservations as stored.
    fn reservation_list(&self, agent_id: &AgentId) -> Vec<Resource> {
        self.reservations
            .get(agent_id)
            .map(|by_key| by_key.values().flat_map(|r| r.to_vec()).collect())
            .unwrap_or_default()
    }

    /// Changes the agent's total and the recorded reservations, persists, and tells the
    /// allocator the agent's new total.
    fn apply_plan(&mut self, agent_id: &AgentId, plan: &ReservationPlan, reserve: bool) {
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.total.subtract_all(&plan.from);
            agent.total.add_all(&plan.to);
        }
        let by_key = self.reservations.entry(agent_id.clone()).or_default();
        apply_to_held(by_key, plan, reserve);
        if by_key.is_empty() {
            self.reservations.remove(agent_id);
        }
        let list = self.reservation_list(agent_id);
        self.effect(Effect::Persist(vec![registry_records::put_reservations(
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
    ) -> Result<(), CoreError> {
        let agent_id = request.agent_id;
        let Some(agent) = self.agents.get(&agent_id) else {
            return Err(CoreError::invalid(format!(
                "No agent found with ID '{agent_id}'"
            )));
        };
        if !agent.connected() {
            return Err(CoreError::conflict(format!(
                "Agent {agent_id} is not connected"
            )));
        }
        let plan = plan(&request.resources, reserve).map_err(CoreError::Invalid)?;
        if !reserve {
            check_held(&agent_id, self.reservations.get(&agent_id), &plan)
                .map_err(CoreError::Conflict)?;
        }
        let unallocated = self.agent_unallocated(&agent_id);
        let (_, offered) = self.agent_used(&agent_id);
        let mut available = unallocated.clone();
        available.add_all(&offered);
        if !available.contains(&plan.from) {
            let what = if reserve { "unreserved" } else { "reserved" };
            return Err(CoreError::conflict(format!(
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

    /// Checks a RESERVE or UNRESERVE inside an ACCEPT against `remaining` (what is left of
    /// the offers) and `held` (the agent's reservations at that point of the call); changes
    /// nothing. The reservation's role must be the offers' role and its principal the
    /// framework's.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_offer_reservation(
        &self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        resources: &[Resource],
        reserve: bool,
        held: Option<&DynamicReservations>,
        remaining: &Resources,
    ) -> Result<ReservationPlan, String> {
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
            check_held(agent_id, held, &plan)?;
        }
        if !remaining.contains(&plan.from) {
            return Err(format!(
                "The offers do not hold {} (left: {})",
                plan.from.summary(),
                remaining.summary()
            ));
        }
        Ok(plan)
    }

    /// Carries out a checked RESERVE or UNRESERVE of an ACCEPT: the agent's total and
    /// reservations change, and the allocator hears of the new shape of the allocation.
    pub(super) fn apply_offer_reservation(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        plan: &ReservationPlan,
        reserve: bool,
    ) {
        tracing::info!(framework = %framework_id, agent = %agent_id,
            resources = %plan.to.summary(), reserve, "framework changed reservations");
        self.apply_plan(agent_id, plan, reserve);
        self.allocator(AllocatorEvent::UpdateAllocation {
            agent_id: agent_id.value.clone(),
            framework_id: framework_id.value.clone(),
            before: plan.from.to_vec(),
            after: plan.to.to_vec(),
        });
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
