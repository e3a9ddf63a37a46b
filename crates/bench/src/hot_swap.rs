//! The hot-swap benchmark of issue 4: at `agents` x `frameworks` (every agent half held by
//! one framework, as a busy cluster is), the time from a swap request to the new policy being
//! the one whose grants become offers. That is what the master does for SWAP_ALLOCATOR once
//! the plugin is installed (install compiles the component; the engine keeps it compiled):
//! make an instance from the compiled component and `init` it, replay the core's state into
//! it, and switch between two cycles.

use std::time::{Duration, Instant};

use corral_api::resources::parse_resources;
use corral_master::allocation::{AllocatorDriver, Replay};
use corral_plugin_host::allocator::{Allocation, AllocatorFactory};
use corral_plugin_host::store::ActiveAllocator;
use corral_plugin_host::{PluginEngine, PluginError, PluginLimits};

use super::allocator::{Shape, agents, frameworks};

/// What a framework holds on each agent of the busy cluster.
const HELD: &str = "cpus:12;mem:2048";

#[derive(Debug, Clone, PartialEq)]
pub struct SwapTimes {
    /// Compiling the component (at install; not part of the swap).
    pub compile: Duration,
    /// Request to new policy active: instance + init, replay, switch.
    pub swap: Duration,
    /// Of which the replay and switch (the driver's part).
    pub replay: Duration,
}

/// The core's state for the shape: every framework active, every agent half held.
pub fn busy_replay(shape: Shape) -> Replay {
    let held = parse_resources(HELD).unwrap_or_default();
    let frameworks = frameworks(shape.frameworks);
    let agents = agents(shape.agents)
        .into_iter()
        .enumerate()
        .map(|(i, agent)| {
            let holder = &frameworks[i % frameworks.len().max(1)];
            let allocation = Allocation {
                framework_id: holder.id.clone(),
                role: "*".to_string(),
                resources: held.clone(),
            };
            (agent, vec![allocation])
        })
        .collect();
    Replay {
        frameworks: frameworks
            .into_iter()
            .map(|f| (f, true, Vec::new()))
            .collect(),
        agents,
        ..Replay::default()
    }
}

/// Times `samples` swaps of `policy` (a built-in name) into a driver running the same policy.
pub fn run(
    engine: &PluginEngine,
    policy: &str,
    limits: PluginLimits,
    shape: Shape,
    samples: usize,
) -> Result<Vec<SwapTimes>, PluginError> {
    let bytes = corral_builtin_plugins::builtin(policy)
        .ok_or_else(|| PluginError::UnknownBuiltin(policy.to_string()))?;
    // A fresh engine compiles; later loads of the same bytes hit its cache, as after install.
    let started = Instant::now();
    engine.check_component(policy, bytes, corral_plugin_host::PluginKind::Allocator)?;
    let compile = started.elapsed();
    let first: AllocatorFactory = engine.allocator_factory_from_bytes(policy, bytes, "", limits)?;
    let mut driver = AllocatorDriver::new(first)?;
    let mut out = Vec::with_capacity(samples);
    for sample in 0..samples {
        let replay = busy_replay(shape);
        let started = Instant::now();
        let factory = engine.allocator_factory_from_bytes(policy, bytes, "", limits)?;
        let switching = Instant::now();
        driver.swap(
            factory,
            ActiveAllocator {
                plugin: format!("{policy}-{sample}"),
                config: String::new(),
            },
            Vec::new(),
            replay,
            0,
        )?;
        let replay = switching.elapsed();
        out.push(SwapTimes {
            compile,
            swap: started.elapsed(),
            replay,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_swap_runs_and_switches() {
        let engine = PluginEngine::new().expect("engine");
        let shape = Shape {
            agents: 20,
            frameworks: 5,
        };
        let times = run(&engine, "drf", PluginLimits::ALLOCATOR, shape, 2).expect("swaps");
        assert_eq!(times.len(), 2);
        assert!(times.iter().all(|t| t.replay <= t.swap));
        let replay = busy_replay(shape);
        assert_eq!(replay.agents.len(), 20);
        assert_eq!(replay.frameworks.len(), 5);
        assert_eq!(replay.agents[7].1[0].framework_id, "framework-0002");
    }
}
