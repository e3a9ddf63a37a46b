//! The `command` component: exports [`command_core::CommandExecutor`] (see that crate for the logic).

pub use command_core::*;

corral_sdk::export_executor!(CommandExecutor);
