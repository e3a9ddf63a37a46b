//! Refuse filters, indexed by agent: a framework that declines resources of an agent
//! (`recover` with `refuse-until`) is not offered them again before that time.
//!
//! As in Mesos, a filter covers the resources that were declined: a later offer is held back
//! only when everything it would hold is within the filter, so an agent that has gained
//! resources (a task ended) is offered again at once.

use std::collections::BTreeMap;

use corral_sdk::resources::Resources;

use crate::AgentIx;

#[derive(Debug, Clone, PartialEq)]
pub struct RefuseFilter {
    pub resources: Resources,
    /// Milliseconds since the epoch; the filter is gone at this time.
    pub until: u64,
}

/// The filters of one framework, by agent.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// A BTreeMap so that `iter` (and so `inspect`) is in one order in every build.
    by_agent: BTreeMap<AgentIx, Vec<RefuseFilter>>,
    /// The earliest `until`, so expiring is a no-op until then.
    earliest: Option<u64>,
}

impl Filters {
    pub fn add(&mut self, agent: AgentIx, resources: Resources, until: u64) {
        self.by_agent
            .entry(agent)
            .or_default()
            .push(RefuseFilter { resources, until });
        self.earliest = Some(self.earliest.map_or(until, |e| e.min(until)));
    }

    /// Drops the filters that have expired at `now`.
    pub fn expire(&mut self, now: u64) {
        if self.earliest.is_none_or(|e| e > now) {
            return;
        }
        let mut earliest = None;
        self.by_agent.retain(|_, list| {
            list.retain(|f| f.until > now);
            for f in list.iter() {
                earliest = Some(earliest.map_or(f.until, |e: u64| e.min(f.until)));
            }
            !list.is_empty()
        });
        self.earliest = earliest;
    }

    pub fn clear(&mut self) {
        self.by_agent.clear();
        self.earliest = None;
    }

    pub fn remove_agent(&mut self, agent: AgentIx) {
        self.by_agent.remove(&agent);
    }

    /// True when an unexpired filter covers all of `offer` on this agent.
    pub fn refuses(&self, agent: AgentIx, offer: &Resources, now: u64) -> bool {
        self.by_agent.get(&agent).is_some_and(|list| {
            list.iter().any(|f| {
                // The usual case, an offer of exactly what was declined, without allocating.
                f.until > now && (f.resources == *offer || f.resources.contains(offer.as_slice()))
            })
        })
    }

    /// Every filter with its agent.
    pub fn iter(&self) -> impl Iterator<Item = (AgentIx, &RefuseFilter)> {
        self.by_agent
            .iter()
            .flat_map(|(agent, list)| list.iter().map(move |f| (*agent, f)))
    }
}
