//! The allocator benchmark of issue 4, after Mesos' `HierarchicalAllocator_BENCHMARK_Test
//! .DeclineOffers`: `agents` identical agents and `frameworks` frameworks that decline every
//! offer with a long filter. Every cycle after the first the allocator must walk every agent
//! past the frameworks that refused it, so a cycle's cost is the policy's search, not the
//! bookkeeping of grants.
//!
//! The same driver runs any [`AllocatorPolicy`], so the DRF component (through
//! `WasmAllocator`) and DRF compiled into the host (`NativeAllocator`) do the same work.

use std::time::{Duration, Instant};

use corral_api::resources::parse_resources;
use corral_api::v1::Resource;
use corral_plugin_host::PluginError;
use corral_plugin_host::allocator::{AgentSnapshot, AllocatorPolicy, FrameworkSnapshot, Grant};

/// Each agent's resources: what Mesos' allocator benchmarks give theirs.
pub const AGENT_RESOURCES: &str = "cpus:24;mem:4096;disk:4096;ports:[31000-32000]";
/// How long a decline refuses the agent: one day, far beyond the benchmark's run.
pub const REFUSE_MS: u64 = 24 * 3600 * 1000;
/// The simulated time of the first cycle (ms since the epoch); each cycle is a second later.
const START_MS: u64 = 1_700_000_000_000;

/// One cluster size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub agents: usize,
    pub frameworks: usize,
}

/// What one policy did on one shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleTimes {
    /// Adding every agent and framework.
    pub setup: Duration,
    /// The first cycle, where every agent is free and offered.
    pub first: Duration,
    pub first_grants: usize,
    /// The median of the timed cycles (after one warm-up cycle) of the decline phase.
    pub median: Duration,
    /// Grants in the last timed cycle.
    pub last_grants: usize,
}

/// The benchmark's agents: `agent-000001`... with [`AGENT_RESOURCES`].
pub fn agents(count: usize) -> Vec<AgentSnapshot> {
    let resources = agent_resources();
    (0..count)
        .map(|i| AgentSnapshot {
            id: format!("agent-{i:06}"),
            hostname: format!("host-{i:06}"),
            resources: resources.clone(),
            attributes: Vec::new(),
        })
        .collect()
}

/// The benchmark's frameworks: `framework-0001`... in role `*`.
pub fn frameworks(count: usize) -> Vec<FrameworkSnapshot> {
    (0..count)
        .map(|i| FrameworkSnapshot {
            id: format!("framework-{i:04}"),
            name: format!("bench-{i}"),
            roles: vec!["*".to_string()],
            capabilities: Vec::new(),
            principal: None,
        })
        .collect()
}

fn agent_resources() -> Vec<Resource> {
    // A constant that parses; the unit test below keeps it so.
    parse_resources(AGENT_RESOURCES).unwrap_or_default()
}

/// Loads the shape into `policy`, runs the first cycle, then one warm-up and `cycles` timed
/// cycles in which every grant of the cycle before is declined with a long filter.
pub fn run(
    policy: &mut dyn AllocatorPolicy,
    shape: Shape,
    cycles: usize,
) -> Result<CycleTimes, PluginError> {
    let started = Instant::now();
    for agent in agents(shape.agents) {
        policy.add_agent(&agent, &[])?;
    }
    for framework in frameworks(shape.frameworks) {
        policy.add_framework(&framework, true)?;
    }
    let setup = started.elapsed();

    let mut now = START_MS;
    let (first, mut grants) = timed_cycle(policy, now)?;
    let first_grants = grants.len();
    let mut times = Vec::with_capacity(cycles);
    for cycle in 0..=cycles {
        decline_all(policy, &grants, now)?;
        now += 1000;
        let (took, next) = timed_cycle(policy, now)?;
        // Cycle 0 is the warm-up.
        if cycle > 0 {
            times.push(took);
        }
        grants = next;
    }
    Ok(CycleTimes {
        setup,
        first,
        first_grants,
        median: median(&mut times),
        last_grants: grants.len(),
    })
}

fn timed_cycle(
    policy: &mut dyn AllocatorPolicy,
    now: u64,
) -> Result<(Duration, Vec<Grant>), PluginError> {
    let started = Instant::now();
    let grants = policy.allocate(now)?;
    Ok((started.elapsed(), grants))
}

/// Mesos' DECLINE with `refuse_seconds` of a day, for every grant.
fn decline_all(
    policy: &mut dyn AllocatorPolicy,
    grants: &[Grant],
    now: u64,
) -> Result<(), PluginError> {
    for grant in grants {
        policy.recover(
            &grant.agent_id,
            &grant.framework_id,
            &grant.resources,
            Some(now + REFUSE_MS),
        )?;
    }
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
#[path = "allocator_tests.rs"]
mod tests;
