//! Benchmarks that `corral bench` runs (built only with the `bench` feature of the `corral`
//! binary): the allocator cycle, plugin calls and task launches, each through WebAssembly and
//! with the same plugin code compiled natively (`native_allocator`, the `*-core` crates), and
//! allocator hot swaps.

pub mod allocator;
pub mod auth_overhead;
pub mod auth_plugin;
pub mod hot_swap;
pub mod native_allocator;
pub mod plugin_overhead;
pub mod task_launch;
