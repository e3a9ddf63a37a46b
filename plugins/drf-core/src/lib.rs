//! The `drf` allocator: hierarchical weighted Dominant Resource Fairness, quota-aware, as
//! Mesos' hierarchical allocator does it.
//!
//! Each cycle walks the agents in id order and offers each to the best (framework, role)
//! that may use it: roles by weighted dominant share, level by level down the role tree
//! (`eng/backend` counts toward `eng`), then frameworks within a role by their dominant share
//! there (see [`sorter`]). The grantee gets all of the agent's free resources it may use
//! under that role, in one grant (Mesos offers a whole agent to one framework); what is left
//! (resources reserved for another role) goes on to the next candidate.
//!
//! Quota (`set-quota`): roles below their guarantee are served first, and a role's subtree
//! never gets past its limit; see `policy_core::cycle` for the two stages. Reserved resources
//! go only to their role, `gpus` only to GPU_RESOURCES frameworks (and, by default, agents
//! with gpus only to them), revocable resources only to REVOCABLE_RESOURCES frameworks;
//! refused resources wait for their filter to expire, and suppressed or inactive frameworks
//! get nothing. Granted resources stay allocated until the host recovers them.

mod config;
mod inspect;
pub mod sorter;
#[cfg(test)]
mod tests;

use corral_sdk::allocator::Grant;
use policy_core::{Cluster, CycleSpec, QuotaView};

use sorter::DrfOrder;

#[derive(Debug, Default)]
pub struct Drf {
    cluster: Cluster,
}

impl Drf {
    fn configure(&mut self, config: &str) -> Result<(), String> {
        self.cluster.options = config::parse(config)?;
        Ok(())
    }

    fn cycle(&mut self, now: u64) -> Vec<Grant> {
        let agents: Vec<_> = self.cluster.agent_order.values().copied().collect();
        let quota = QuotaView::from_cluster(&self.cluster);
        let mut order = DrfOrder::new(&self.cluster);
        let spec = CycleSpec {
            agents: &agents,
            grants_per_framework: None,
            quota: &quota,
        };
        policy_core::cycle::run(&mut self.cluster, &mut order, &spec, now)
    }

    fn view(&self) -> String {
        inspect::inspect(self)
    }
}

policy_core::policy_allocator!(Drf, "drf");
