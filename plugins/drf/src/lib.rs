//! The `drf` allocator component: exports [`drf_core::Drf`] (see that crate for the policy).

pub use drf_core::Drf;

corral_sdk::export_allocator!(Drf);
