//! The `priority` allocator component: exports [`priority_core::Priority`] (see that crate).

pub use priority_core::Priority;

corral_sdk::export_allocator!(Priority);
