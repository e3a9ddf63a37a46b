//! The allocator driver: owns the policy instance, feeds it the events the core queued, runs
//! `allocate`, and replaces a poisoned instance with a fresh one replayed from the core's
//! authoritative state. It runs outside the core's lock (the policy is a synchronous wasm
//! call bounded by its deadline), so the master keeps serving during a cycle.

use corral_plugin_host::PluginError;
use corral_plugin_host::allocator::{AllocatorFactory, AllocatorPolicy};
use corral_plugin_host::store::ActiveAllocator;

pub use super::allocator_events::{AllocatorEvent, CycleInput, CycleOutput, CycleWork, Replay};
pub use super::allocator_status::{AllocatorStatus, SharedStatus, SwapReport};
use super::probation::Probation;

pub struct AllocatorDriver {
    pub(super) factory: AllocatorFactory,
    pub(super) policy: Option<Box<dyn AllocatorPolicy>>,
    /// Set after a hot swap until the new policy has run its first cycles.
    pub(super) probation: Option<Probation>,
    pub(super) status: SharedStatus,
    /// The first error of the current cycle or swap, for the operator.
    pub(super) last_error: Option<String>,
    /// A swap that passed probation and is not yet persisted.
    pub(super) committed: Option<ActiveAllocator>,
}

impl AllocatorDriver {
    /// Makes the first instance now, so a policy that cannot start is refused at start.
    pub fn new(factory: AllocatorFactory) -> Result<Self, PluginError> {
        let policy = factory()?;
        Ok(AllocatorDriver {
            factory,
            policy: Some(policy),
            probation: None,
            status: SharedStatus::default(),
            last_error: None,
            committed: None,
        })
    }

    /// True when there is no usable instance: the next cycle must bring a replay.
    pub fn needs_replay(&self) -> bool {
        self.policy.is_none()
    }

    /// Switches to another policy; the next cycle replays the state into it.
    pub fn replace_factory(&mut self, factory: AllocatorFactory) {
        self.factory = factory;
        self.policy = None;
    }

    /// Drops the instance (after a panic in it); the next cycle replays into a fresh one.
    pub fn reset(&mut self) {
        self.policy = None;
    }

    /// The policy's own view as JSON, if it has an instance that answers.
    pub fn inspect(&mut self) -> Option<String> {
        let policy = self.policy.as_mut()?;
        match policy.inspect() {
            Ok(text) => Some(text),
            Err(error) => {
                tracing::warn!(%error, "allocator inspect failed");
                if error.poisons_instance() {
                    self.policy = None;
                }
                None
            }
        }
    }

    /// Applies the cycle's events (or replays into a fresh instance), then allocates; during
    /// a hot swap's probation, a failure of the new policy restores the old one.
    pub fn run(&mut self, input: CycleInput) -> CycleOutput {
        let started = std::time::Instant::now();
        self.last_error = None;
        let mut out = self.run_cycle(input);
        self.status.record_cycle(started.elapsed());
        self.after_cycle(&mut out);
        out
    }

    fn run_cycle(&mut self, input: CycleInput) -> CycleOutput {
        let mut out = CycleOutput {
            incarnations: input.incarnations,
            ..Default::default()
        };
        let events = match input.work {
            CycleWork::Replay(replay) => {
                match (self.factory)() {
                    Ok(policy) => self.policy = Some(policy),
                    Err(error) => {
                        tracing::error!(%error, "cannot create a fresh allocator instance");
                        note_error(&mut self.last_error, &error);
                        out.errors += 1;
                        out.replay_failed = true;
                        return out;
                    }
                }
                tracing::info!("replaying the master's state into a fresh allocator instance");
                out.replayed = true;
                replay.into_events()
            }
            CycleWork::Events(events) => events,
        };
        let Some(policy) = self.policy.as_mut() else {
            // Events for an instance that no longer exists: the replay will cover them.
            out.poisoned = true;
            return out;
        };
        for event in events {
            if let Err(error) = apply(policy.as_mut(), &event) {
                tracing::error!(%error, ?event, "allocator call failed");
                note_error(&mut self.last_error, &error);
                out.errors += 1;
                if error.poisons_instance() {
                    self.policy = None;
                    out.poisoned = true;
                    out.replay_failed = out.replayed;
                    return out;
                }
            }
        }
        match policy.allocate(input.now_ms) {
            Ok(grants) => out.grants = grants,
            Err(error) => {
                tracing::error!(%error, "allocator allocate failed");
                note_error(&mut self.last_error, &error);
                out.errors += 1;
                if error.poisons_instance() {
                    self.policy = None;
                    out.poisoned = true;
                    out.replay_failed = out.replayed;
                }
            }
        }
        out
    }
}

pub(super) fn apply(
    policy: &mut dyn AllocatorPolicy,
    event: &AllocatorEvent,
) -> Result<(), PluginError> {
    match event {
        AllocatorEvent::AddAgent(agent, allocations) => policy.add_agent(agent, allocations),
        AllocatorEvent::RemoveAgent(id) => policy.remove_agent(id),
        AllocatorEvent::AddFramework(framework, active) => policy.add_framework(framework, *active),
        AllocatorEvent::UpdateFramework(framework) => policy.update_framework(framework),
        AllocatorEvent::RemoveFramework(id) => policy.remove_framework(id),
        AllocatorEvent::ActivateFramework(id) => policy.activate_framework(id),
        AllocatorEvent::DeactivateFramework(id) => policy.deactivate_framework(id),
        AllocatorEvent::Suppress(id, roles) => policy.suppress(id, roles),
        AllocatorEvent::Revive(id, roles) => policy.revive(id, roles),
        AllocatorEvent::Recover {
            agent_id,
            framework_id,
            resources,
            refuse_until_ms,
        } => policy.recover(agent_id, framework_id, resources, *refuse_until_ms),
        AllocatorEvent::SetWeight(role, weight) => policy.set_weight(role, *weight),
        AllocatorEvent::SetQuota(quota) => policy.set_quota(quota),
        AllocatorEvent::UpdateAgent(agent) => policy.update_agent(agent),
        AllocatorEvent::UpdateAllocation {
            agent_id,
            framework_id,
            before,
            after,
        } => policy.update_allocation(agent_id, framework_id, before, after),
    }
}

/// Keeps the first error of a cycle: the one that explains the rest.
fn note_error(slot: &mut Option<String>, error: &PluginError) {
    if slot.is_none() {
        *slot = Some(error.to_string());
    }
}
