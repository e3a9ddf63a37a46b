//! Refuse filters: a framework that declines resources of an agent (`recover` with
//! `refuse-until`) is not offered them again before that time.
//!
//! As in Mesos, a filter covers the resources that were declined: a later offer is held back
//! only when everything it would hold is within the filter, so an agent that has gained
//! resources (a task ended) is offered again at once.

use corral_sdk::resources::Resources;
use corral_sdk::types::Resource;

#[derive(Debug, Clone, PartialEq)]
pub struct RefuseFilter {
    pub agent_id: String,
    pub resources: Resources,
    /// Milliseconds since the epoch; the filter is gone at this time.
    pub until: u64,
}

/// The filters of one framework.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    list: Vec<RefuseFilter>,
}

impl Filters {
    pub fn add(&mut self, agent_id: &str, resources: &[Resource], until: u64) {
        self.list.push(RefuseFilter {
            agent_id: agent_id.to_string(),
            resources: Resources::from_list(resources),
            until,
        });
    }

    /// Drops the filters that have expired at `now`.
    pub fn expire(&mut self, now: u64) {
        self.list.retain(|filter| filter.until > now);
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub fn remove_agent(&mut self, agent_id: &str) {
        self.list.retain(|filter| filter.agent_id != agent_id);
    }

    /// True when an unexpired filter covers all of `offer` on this agent.
    pub fn refuses(&self, agent_id: &str, offer: &Resources, now: u64) -> bool {
        self.list.iter().any(|filter| {
            filter.agent_id == agent_id
                && filter.until > now
                && filter.resources.contains(offer.as_slice())
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &RefuseFilter> {
        self.list.iter()
    }
}
