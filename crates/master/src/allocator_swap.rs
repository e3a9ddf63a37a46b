//! A hot swap of the allocation policy as the shell runs it: the driver held (so no cycle
//! runs), the core's queued events and state taken in one short critical section, the swap
//! itself on the driver (`hot_swap.rs`).

use corral_plugin_host::PluginError;
use corral_plugin_host::allocator::AllocatorFactory;
use corral_plugin_host::store::ActiveAllocator;

use super::shell::Shared;

impl Shared {
    /// Swaps the allocator between two cycles (see the module doc); blocks while a cycle
    /// runs, so it is called off the async threads.
    pub fn swap_allocator_blocking(
        &self,
        factory: AllocatorFactory,
        candidate: ActiveAllocator,
        probation_cycles: u32,
    ) -> Result<(), PluginError> {
        let mut driver = self
            .driver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (pending, replay) =
            self.with_core(|core, _| (core.take_allocator_events(), core.replay_state()));
        driver.swap(factory, candidate, pending, replay, probation_cycles)?;
        if let Some(active) = driver.take_committed()
            && self
                .registry
                .send(vec![corral_plugin_host::store::put_active_allocator(
                    &active,
                )])
                .is_err()
        {
            tracing::warn!("registry writer stopped; the active allocator is not persisted");
        }
        // The new policy's first cycle now, not an interval later.
        self.wake_allocation.notify_one();
        Ok(())
    }
}
