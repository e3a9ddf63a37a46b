//! Benchmarks that the `corral bench` command runs in memory, with no cluster.

pub mod allocator;
pub mod hot_swap;
pub mod plugin_overhead;
pub mod task_launch;
