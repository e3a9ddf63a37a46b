//! A swapped-in allocation policy on probation: what the driver needs to restore the old
//! one if the new one fails in its first cycles (see `hot_swap.rs`).

use corral_plugin_host::allocator::AllocatorFactory;
use corral_plugin_host::store::ActiveAllocator;

/// Default number of cycles a new policy must pass before the swap is final.
pub const DEFAULT_PROBATION_CYCLES: u32 = 3;

pub struct Probation {
    /// Makes instances of the policy to restore.
    pub fallback: AllocatorFactory,
    pub previous: ActiveAllocator,
    pub candidate: ActiveAllocator,
    pub cycles_left: u32,
}
