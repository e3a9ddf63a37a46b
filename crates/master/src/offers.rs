//! Offers: allocation cycles as the core sees them (hand the allocator its events, turn its
//! grants into offers after checking each one), declines and rescinds.

use std::collections::BTreeMap;

use corral_api::resources::Resources;
use corral_api::scheduler::{Decline, Event};
use corral_api::v1::{Address, AgentId, AllocationInfo, Filters, FrameworkId, Offer, OfferId, Url};
use corral_plugin_host::allocator::{Allocation, Grant};

use super::allocator_events::{AllocatorEvent, CycleInput, CycleOutput, CycleWork, Replay};
use super::core::{MasterCore, OfferRecord};

/// Longest decline filter honoured, as in Mesos (a year).
const MAX_REFUSE_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Why a grant was dropped, and whether its resources go back to the allocator (they do
/// unless the allocator already forgot the agent or the framework).
struct Rejection {
    reason: String,
    recover: bool,
}

impl MasterCore {
    /// Starts a cycle: the queued allocator events, or with `replay` the whole state for a
    /// fresh instance (queued events are then dropped: the state already reflects them).
    pub fn begin_cycle(&mut self, now_ms: u64, replay: bool) -> CycleInput {
        let events = self.take_allocator_events();
        let work = if replay {
            CycleWork::Replay(self.replay_state())
        } else {
            CycleWork::Events(events)
        };
        let incarnations = self
            .agents
            .values()
            .filter(|a| a.connected())
            .map(|a| (a.id(), a.incarnation))
            .collect();
        CycleInput {
            now_ms,
            work,
            incarnations,
        }
    }

    /// Ends a cycle: checks every grant and sends the valid ones as offers, one OFFERS event
    /// per framework.
    pub fn finish_cycle(&mut self, output: CycleOutput) {
        self.counters.allocation_cycles += 1;
        self.counters.allocator_errors += output.errors;
        if output.replayed && !output.replay_failed {
            self.counters.allocator_replays += 1;
        }
        if output.poisoned && !output.replay_failed {
            // Replay at once rather than a whole interval later.
            self.request_allocation();
        }
        let mut by_framework: BTreeMap<FrameworkId, Vec<Offer>> = BTreeMap::new();
        for grant in output.grants {
            match self.check_grant(&grant, &output.incarnations) {
                Ok(resources) => {
                    let offer = self.make_offer(&grant, resources);
                    by_framework
                        .entry(offer.framework_id.clone())
                        .or_default()
                        .push(offer);
                }
                Err(rejection) => {
                    tracing::warn!(
                        agent = %grant.agent_id,
                        framework = %grant.framework_id,
                        role = %grant.role,
                        reason = %rejection.reason,
                        "dropping an invalid grant from the allocator"
                    );
                    self.counters.invalid_grants += 1;
                    if rejection.recover {
                        self.allocator(AllocatorEvent::Recover {
                            agent_id: grant.agent_id.clone(),
                            framework_id: grant.framework_id.clone(),
                            resources: grant.resources.clone(),
                            refuse_until_ms: None,
                        });
                    }
                }
            }
        }
        for (framework_id, offers) in by_framework {
            self.counters.offers_sent += offers.len() as u64;
            self.send_event(&framework_id, Event::offers(offers));
        }
    }

    fn check_grant(
        &self,
        grant: &Grant,
        incarnations: &BTreeMap<AgentId, u64>,
    ) -> Result<Resources, Rejection> {
        let reject = |reason: String, recover: bool| Rejection { reason, recover };
        let agent_id = AgentId::new(grant.agent_id.clone());
        let Some(agent) = self.agents.get(&agent_id) else {
            return Err(reject("unknown agent".into(), false));
        };
        if !agent.connected() {
            return Err(reject("agent is disconnected".into(), false));
        }
        if incarnations.get(&agent_id) != Some(&agent.incarnation) {
            return Err(reject("agent re-registered during the cycle".into(), false));
        }
        let framework_id = FrameworkId::new(grant.framework_id.clone());
        let Some(framework) = self.frameworks.get(&framework_id) else {
            return Err(reject("unknown framework".into(), false));
        };
        if !framework.connected() {
            return Err(reject("framework is not connected".into(), true));
        }
        if !framework.info.effective_roles().contains(&grant.role) {
            return Err(reject(
                format!("role '{}' is not one of the framework's roles", grant.role),
                true,
            ));
        }
        let resources = Resources::from_list(&grant.resources);
        if resources.is_empty() {
            return Err(reject("grant holds no resources".into(), false));
        }
        let free = self
            .agent_unallocated(&agent_id)
            .allocatable_to(&grant.role);
        if !free.contains(&resources) {
            return Err(reject(
                format!(
                    "grant {} exceeds what the agent has unallocated for the role: {}",
                    resources.summary(),
                    free.summary()
                ),
                true,
            ));
        }
        Ok(resources)
    }

    fn make_offer(&mut self, grant: &Grant, resources: Resources) -> Offer {
        let id = self.new_offer_id();
        let agent_id = AgentId::new(grant.agent_id.clone());
        let (hostname, port, attributes) = match self.agents.get(&agent_id) {
            Some(a) => (
                a.info.hostname.clone(),
                a.info.port,
                a.info.attributes.clone(),
            ),
            None => Default::default(),
        };
        let offer = Offer {
            id: id.clone(),
            framework_id: FrameworkId::new(grant.framework_id.clone()),
            agent_id,
            hostname: hostname.clone(),
            url: port.map(|port| Url {
                scheme: "http".into(),
                address: Address {
                    hostname: Some(hostname),
                    ip: None,
                    port,
                },
                path: None,
            }),
            resources: resources.with_allocation_role(&grant.role),
            attributes,
            executor_ids: Vec::new(),
            allocation_info: Some(AllocationInfo {
                role: Some(grant.role.clone()),
            }),
        };
        self.offers.insert(
            id,
            OfferRecord {
                offer: offer.clone(),
                role: grant.role.clone(),
                resources,
            },
        );
        offer
    }

    /// The state a fresh allocator instance needs.
    pub(super) fn replay_state(&self) -> Replay {
        let frameworks = self
            .frameworks
            .values()
            .map(|f| {
                (
                    f.snapshot(),
                    f.connected(),
                    f.suppressed_roles.iter().cloned().collect(),
                )
            })
            .collect();
        let agents = self
            .agents
            .values()
            .filter(|a| a.connected())
            .map(|a| (a.snapshot(), self.allocations_on(&a.id())))
            .collect();
        Replay {
            frameworks,
            agents,
            weights: self.weights_for_allocator(),
            quotas: self.quotas_for_allocator(),
        }
    }

    /// What frameworks hold on an agent (live tasks and outstanding offers), per role.
    pub(super) fn allocations_on(&self, agent_id: &AgentId) -> Vec<Allocation> {
        let mut held: BTreeMap<(String, String), Resources> = BTreeMap::new();
        for (framework_id, record) in self.tasks_on(agent_id) {
            if !record.released {
                held.entry((framework_id.value.clone(), record.role.clone()))
                    .or_default()
                    .add_all(&record.resources);
            }
        }
        for offer in self.offers.values() {
            if &offer.offer.agent_id == agent_id {
                held.entry((offer.offer.framework_id.value.clone(), offer.role.clone()))
                    .or_default()
                    .add_all(&offer.resources);
            }
        }
        held.into_iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|((framework_id, role), resources)| Allocation {
                framework_id,
                role,
                resources: resources.to_vec(),
            })
            .collect()
    }

    /// Removes an offer and gives its resources back to the allocator.
    pub(super) fn recover_offer(&mut self, offer_id: &OfferId, refuse_until_ms: Option<u64>) {
        if let Some(record) = self.offers.remove(offer_id) {
            self.give_back(
                &record.offer.agent_id,
                &record.offer.framework_id,
                &record.resources,
                refuse_until_ms,
            );
        }
    }

    /// Returns resources of a framework on an agent to the allocator, if the allocator still
    /// has that agent (a disconnected agent was removed from it with everything on it).
    pub(super) fn give_back(
        &mut self,
        agent_id: &AgentId,
        framework_id: &FrameworkId,
        resources: &Resources,
        refuse_until_ms: Option<u64>,
    ) {
        if resources.is_empty() || !self.agents.get(agent_id).is_some_and(|a| a.connected()) {
            return;
        }
        self.allocator(AllocatorEvent::Recover {
            agent_id: agent_id.value.clone(),
            framework_id: framework_id.value.clone(),
            resources: resources.to_vec(),
            refuse_until_ms,
        });
        self.request_allocation();
    }

    /// Removes an offer and tells its framework with a RESCIND event. With `recover`, the
    /// resources go back to the allocator (not when the agent left it).
    pub(super) fn rescind_offer(&mut self, offer_id: &OfferId, recover: bool) {
        let Some(record) = self.offers.get(offer_id) else {
            return;
        };
        let framework_id = record.offer.framework_id.clone();
        self.send_event(&framework_id, Event::rescind(offer_id.clone()));
        self.counters.offers_rescinded += 1;
        if recover {
            self.recover_offer(offer_id, None);
        } else {
            self.offers.remove(offer_id);
        }
    }

    pub(super) fn offers_of_framework(&self, framework_id: &FrameworkId) -> Vec<OfferId> {
        self.offers
            .values()
            .filter(|o| &o.offer.framework_id == framework_id)
            .map(|o| o.offer.id.clone())
            .collect()
    }

    pub(super) fn offers_on_agent(&self, agent_id: &AgentId) -> Vec<OfferId> {
        self.offers
            .values()
            .filter(|o| &o.offer.agent_id == agent_id)
            .map(|o| o.offer.id.clone())
            .collect()
    }

    /// DECLINE: the offers' resources go back with the call's filter; offers that are
    /// unknown or not the framework's are ignored.
    pub(super) fn decline(&mut self, now_ms: u64, framework_id: &FrameworkId, decline: &Decline) {
        let refuse_until = refuse_until(now_ms, decline.filters.as_ref());
        for offer_id in &decline.offer_ids {
            match self.offers.get(offer_id) {
                Some(o) if &o.offer.framework_id == framework_id => {
                    self.recover_offer(offer_id, refuse_until);
                }
                _ => tracing::info!(offer = %offer_id, framework = %framework_id,
                    "ignoring the decline of an unknown offer"),
            }
        }
    }
}

/// The time until which declined resources are not offered again, from a call's filters.
pub fn refuse_until(now_ms: u64, filters: Option<&Filters>) -> Option<u64> {
    let seconds = Filters::refuse_seconds_or_default(filters);
    if !seconds.is_finite() || seconds <= 0.0 {
        return None;
    }
    let ms = (seconds.min(MAX_REFUSE_SECONDS) * 1000.0) as u64;
    Some(now_ms.saturating_add(ms))
}
