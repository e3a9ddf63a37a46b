//! The `binpack` allocator component: exports [`binpack_core::Binpack`] (see that crate).

pub use binpack_core::Binpack;

corral_sdk::export_allocator!(Binpack);
