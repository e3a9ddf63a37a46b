//! The `admission` component: exports [`admission_core::Admission`] (see that crate for the logic).

pub use admission_core::*;

corral_sdk::export_hook!(Admission);
