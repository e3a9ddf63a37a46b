//! The `binpack` allocator: fills the fullest agents first, to keep whole agents free for
//! large tasks and reduce fragmentation (leftover slivers that fit no task).
//!
//! Each cycle sorts the agents by how full they are (the larger of their allocated cpus and
//! mem fractions; ties by id) and offers them fullest first, to frameworks in DRF order, with
//! at most `agents_per_framework` agents (default 1) per framework per cycle. So a framework
//! sees the fullest agent that fits it, and an empty agent only once the fuller ones are
//! taken or refused: its tasks land on few agents. `inspect()` adds a `fragmentation` report
//! (see [`fragmentation`]).
//!
//! Quota, reservations, gpus, revocable resources, filters, suppression and
//! `min_allocatable` work as in `drf`.

pub mod config;
pub mod fragmentation;
#[cfg(test)]
mod tests;

use corral_sdk::allocator::Grant;
use drf_core::sorter::DrfOrder;
use policy_core::scalars::{CPUS, MEM};
use policy_core::{AgentIx, Cluster, CycleSpec, QuotaView};
use serde_json::Value;

use config::Config;

#[derive(Debug, Default)]
pub struct Binpack {
    cluster: Cluster,
    config: Config,
}

impl Binpack {
    fn configure(&mut self, text: &str) -> Result<(), String> {
        let config = Config::parse(text)?;
        self.cluster.options = config.options.clone();
        self.config = config;
        Ok(())
    }

    /// Agents fullest first (ties in id order).
    fn agents_by_fullness(&self) -> Vec<AgentIx> {
        let mut agents: Vec<(f64, AgentIx)> = self
            .cluster
            .agent_order
            .values()
            .filter_map(|ix| self.cluster.agent(*ix).map(|a| (ix, a)))
            .map(|(ix, a)| {
                let fullness = [(CPUS, "cpus"), (MEM, "mem")]
                    .iter()
                    .filter(|(id, _)| a.total_scalars.get(*id) > 0.0)
                    .map(|(id, name)| 1.0 - a.free.scalar(name) / a.total_scalars.get(*id))
                    .fold(0.0, f64::max);
                (fullness, *ix)
            })
            .collect();
        // Stable: equal fullness keeps id order.
        agents.sort_by(|a, b| b.0.total_cmp(&a.0));
        agents.into_iter().map(|(_, ix)| ix).collect()
    }

    fn cycle(&mut self, now: u64) -> Vec<Grant> {
        let agents = self.agents_by_fullness();
        let quota = QuotaView::from_cluster(&self.cluster);
        let mut order = DrfOrder::new(&self.cluster);
        let spec = CycleSpec {
            agents: &agents,
            grants_per_framework: Some(self.config.agents_per_framework),
            quota: &quota,
        };
        policy_core::cycle::run(&mut self.cluster, &mut order, &spec, now)
    }

    fn view(&self) -> String {
        let mut view = policy_core::inspect::common(&self.cluster, "binpack");
        view.insert(
            "agents_per_framework".into(),
            self.config.agents_per_framework.into(),
        );
        view.insert("fragmentation".into(), fragmentation::report(&self.cluster));
        Value::Object(view).to_string()
    }
}

policy_core::policy_allocator!(Binpack, "binpack");
