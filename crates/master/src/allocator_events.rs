//! What passes between the core and the allocator driver: the incremental calls the core
//! queues ([`AllocatorEvent`]), the whole state a fresh policy instance learns ([`Replay`]),
//! and what one allocation cycle starts from and ends with. Plain data, so the core queues
//! them without knowing the driver.

use std::collections::BTreeMap;

use corral_api::v1::{AgentId, Resource};
use corral_plugin_host::allocator::{AgentSnapshot, Allocation, FrameworkSnapshot, Grant, Quota};

/// One incremental allocator call, queued by the core.
#[derive(Debug, Clone, PartialEq)]
pub enum AllocatorEvent {
    AddAgent(AgentSnapshot, Vec<Allocation>),
    RemoveAgent(String),
    AddFramework(FrameworkSnapshot, bool),
    UpdateFramework(FrameworkSnapshot),
    RemoveFramework(String),
    ActivateFramework(String),
    DeactivateFramework(String),
    Suppress(String, Vec<String>),
    Revive(String, Vec<String>),
    Recover {
        agent_id: String,
        framework_id: String,
        resources: Vec<Resource>,
        refuse_until_ms: Option<u64>,
    },
    SetWeight(String, f64),
    SetQuota(Quota),
    /// An agent's total changed (a dynamic reservation was made or released).
    UpdateAgent(AgentSnapshot),
    /// Allocated resources changed shape (RESERVE/UNRESERVE inside an ACCEPT).
    UpdateAllocation {
        agent_id: String,
        framework_id: String,
        before: Vec<Resource>,
        after: Vec<Resource>,
    },
}

/// The core's state as a fresh policy instance must learn it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    /// Framework, whether it is active, and its suppressed roles.
    pub frameworks: Vec<(FrameworkSnapshot, bool, Vec<String>)>,
    /// Connected agents with what frameworks hold on them.
    pub agents: Vec<(AgentSnapshot, Vec<Allocation>)>,
    /// Role weights set by the operator.
    pub weights: Vec<(String, f64)>,
    /// Role quotas set by the operator.
    pub quotas: Vec<Quota>,
}

impl Replay {
    pub fn into_events(self) -> Vec<AllocatorEvent> {
        let mut events = Vec::new();
        for (role, weight) in self.weights {
            events.push(AllocatorEvent::SetWeight(role, weight));
        }
        for quota in self.quotas {
            events.push(AllocatorEvent::SetQuota(quota));
        }
        for (framework, active, suppressed) in self.frameworks {
            let id = framework.id.clone();
            events.push(AllocatorEvent::AddFramework(framework, active));
            if !suppressed.is_empty() {
                events.push(AllocatorEvent::Suppress(id, suppressed));
            }
        }
        for (agent, allocations) in self.agents {
            events.push(AllocatorEvent::AddAgent(agent, allocations));
        }
        events
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CycleWork {
    Events(Vec<AllocatorEvent>),
    Replay(Replay),
}

/// What one cycle starts from, taken from the core under its lock.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleInput {
    pub now_ms: u64,
    pub work: CycleWork,
    /// Agent incarnations when the cycle started: grants for a later one are stale.
    pub incarnations: BTreeMap<AgentId, u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleOutput {
    pub grants: Vec<Grant>,
    /// Allocator errors seen (already logged).
    pub errors: u64,
    /// A fresh instance was created and replayed this cycle.
    pub replayed: bool,
    /// The instance was dropped after a poisoning error; the next cycle must replay.
    pub poisoned: bool,
    /// A replay was needed but could not complete (the factory or the replay failed).
    pub replay_failed: bool,
    pub incarnations: BTreeMap<AgentId, u64>,
}
