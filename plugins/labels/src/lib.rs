//! The `labels` component: exports [`labels_core::Labels`] (see that crate for the logic).

pub use labels_core::*;

corral_sdk::export_hook!(Labels);
