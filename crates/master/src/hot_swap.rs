//! Live hot swap of the allocation policy, on the driver. The caller (`allocator_swap.rs`)
//! holds the driver (so no cycle runs) and hands over, taken together under the core's lock,
//! the events queued since the last cycle and the core's state. The new instance learns that
//! state (agents with what frameworks hold on them, outstanding offers included, frameworks,
//! suppressions); only then does it replace the old one, between two cycles. For its first
//! cycles it is on probation: if it traps, times out or runs out of memory, the old policy
//! comes back, replayed fresh.

use corral_plugin_host::PluginError;
use corral_plugin_host::allocator::AllocatorFactory;
use corral_plugin_host::store::ActiveAllocator;

use super::allocation::{AllocatorDriver, apply};
use super::allocator_events::{AllocatorEvent, CycleOutput, Replay};
use super::allocator_status::{SharedStatus, SwapReport};
use super::probation::Probation;

impl AllocatorDriver {
    /// The status operators see (shared; readable while a cycle runs).
    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    /// Names the running policy (at start, or after a restart brought back a persisted one).
    pub fn set_identity(&mut self, active: ActiveAllocator) {
        self.status.set_active(active);
    }

    /// A swap that passed probation since the last call: to be persisted.
    pub fn take_committed(&mut self) -> Option<ActiveAllocator> {
        self.committed.take()
    }

    /// Whether a swapped-in policy is still in its first cycles.
    pub fn on_probation(&self) -> bool {
        self.probation.is_some()
    }

    /// Replays `replay` into a fresh instance from `factory` and switches to it. On error the
    /// old instance stays and gets `pending` (the events the replay already covers), so it
    /// misses nothing. With `probation_cycles` 0 the swap is final at once.
    pub fn swap(
        &mut self,
        factory: AllocatorFactory,
        candidate: ActiveAllocator,
        pending: Vec<AllocatorEvent>,
        replay: Replay,
        probation_cycles: u32,
    ) -> Result<(), PluginError> {
        match self.replay_into_new(&factory, replay) {
            Ok(policy) => {
                // A swap during another's probation falls back to the last proven policy.
                let (fallback, previous) = match self.probation.take() {
                    Some(unproven) => {
                        self.factory = factory;
                        (unproven.fallback, unproven.previous)
                    }
                    None => (
                        std::mem::replace(&mut self.factory, factory),
                        self.status.get().active,
                    ),
                };
                self.policy = Some(policy);
                self.status.set_active(candidate.clone());
                tracing::info!(allocator = %candidate.plugin, "allocator swapped in");
                if probation_cycles == 0 {
                    self.commit(candidate);
                } else {
                    self.status.set_swap(SwapReport {
                        target: candidate.clone(),
                        outcome: "probation".into(),
                        reason: None,
                    });
                    self.probation = Some(Probation {
                        fallback,
                        previous,
                        candidate,
                        cycles_left: probation_cycles,
                    });
                }
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, allocator = %candidate.plugin, "allocator swap refused");
                self.status.set_swap(SwapReport {
                    target: candidate,
                    outcome: "refused".into(),
                    reason: Some(error.to_string()),
                });
                self.apply_to_current(pending);
                Err(error)
            }
        }
    }

    fn replay_into_new(
        &mut self,
        factory: &AllocatorFactory,
        replay: Replay,
    ) -> Result<Box<dyn corral_plugin_host::allocator::AllocatorPolicy>, PluginError> {
        let mut policy = factory()?;
        for event in replay.into_events() {
            if let Err(error) = apply(policy.as_mut(), &event) {
                if error.poisons_instance() {
                    return Err(error);
                }
                tracing::warn!(%error, ?event, "new allocator refused a replayed call");
            }
        }
        Ok(policy)
    }

    /// Applies events to the current instance (dropping it if one poisons it: the next cycle
    /// then replays).
    fn apply_to_current(&mut self, events: Vec<AllocatorEvent>) {
        let Some(policy) = self.policy.as_mut() else {
            return;
        };
        for event in events {
            if let Err(error) = apply(policy.as_mut(), &event) {
                tracing::error!(%error, ?event, "allocator call failed");
                if error.poisons_instance() {
                    self.policy = None;
                    return;
                }
            }
        }
    }

    fn commit(&mut self, candidate: ActiveAllocator) {
        self.status.set_active(candidate.clone());
        self.status.set_swap(SwapReport {
            target: candidate.clone(),
            outcome: "active".into(),
            reason: None,
        });
        self.committed = Some(candidate);
    }

    /// After each cycle: counts a probation cycle, or restores the old policy when the new
    /// one failed. A restored policy is replayed fresh at once (the output says poisoned).
    pub(super) fn after_cycle(&mut self, out: &mut CycleOutput) {
        let Some(probation) = self.probation.as_mut() else {
            return;
        };
        if out.poisoned || out.replay_failed {
            let Some(probation) = self.probation.take() else {
                return;
            };
            let reason = self
                .last_error
                .clone()
                .unwrap_or_else(|| "the new allocator failed".to_string());
            tracing::error!(
                allocator = %probation.candidate.plugin,
                %reason,
                "the new allocator failed in its first cycles; restoring the previous one"
            );
            self.factory = probation.fallback;
            self.policy = None;
            self.status.set_active(probation.previous);
            self.status.set_swap(SwapReport {
                target: probation.candidate,
                outcome: "rolled_back".into(),
                reason: Some(reason),
            });
            out.poisoned = true;
            out.replay_failed = false;
            return;
        }
        probation.cycles_left = probation.cycles_left.saturating_sub(1);
        if probation.cycles_left == 0
            && let Some(probation) = self.probation.take()
        {
            tracing::info!(allocator = %probation.candidate.plugin, "allocator swap is final");
            self.commit(probation.candidate);
        }
    }
}
