//! The `gpu` component: exports [`gpu_core::GpuIsolator`] (see that crate for the logic).

pub use gpu_core::*;

corral_sdk::export_isolator!(GpuIsolator);
