//! Dominant shares, and the order in which frameworks are considered for an agent.
//!
//! A framework's share of a resource is what it holds over the cluster's total; its dominant
//! share is the largest of those. The framework (and role) with the lowest dominant share,
//! divided by the role's weight, goes first; ties go by framework id, so runs are repeatable.
//! Quota and a second (role) level of sorting belong here when they come.

use std::collections::BTreeMap;

use corral_sdk::resources::Resources;

/// The resources that count for fairness, as in Mesos' DRF sorter.
pub const FAIR_RESOURCES: [&str; 4] = ["cpus", "mem", "disk", "gpus"];

/// Per-resource shares of `held` in `totals` (only resources the cluster has).
pub fn shares(held: &Resources, totals: &Resources) -> BTreeMap<&'static str, f64> {
    FAIR_RESOURCES
        .iter()
        .filter(|name| totals.scalar(name) > 0.0)
        .map(|name| (*name, held.scalar(name) / totals.scalar(name)))
        .collect()
}

/// The largest share of `held` in `totals`; 0 when nothing is held.
pub fn dominant_share(held: &Resources, totals: &Resources) -> f64 {
    shares(held, totals).into_values().fold(0.0, f64::max)
}

/// One framework asking under one of its roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub framework_id: String,
    pub role: String,
    /// Dominant share divided by the role's weight.
    pub key: f64,
}

/// Sorts candidates: lowest weighted dominant share first, then framework id, keeping the
/// framework's own role order for ties within one framework.
pub fn sort(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| {
        a.key
            .total_cmp(&b.key)
            .then_with(|| a.framework_id.cmp(&b.framework_id))
    });
}
