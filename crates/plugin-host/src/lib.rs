//! The plugin runtime: a wasmtime engine with per-call deadlines and memory caps, compiled
//! components cached by sha256, and one adapter per plugin kind that turns WIT calls into
//! typed Rust calls with errors instead of traps.
//!
//! The public API speaks host types only: Mesos types (corral_api::v1) where they say the
//! same thing, and this crate's own for the plugin protocol ([`PluginTask`], the executor's
//! actions and events, launch plans, hook decisions). The WIT bindings (corral-wit) stay
//! inside: the adapters (`wasm_*.rs`) convert at the boundary (`convert*.rs`).

pub mod allocator;
pub mod answer_check;
pub mod capabilities;
mod capabilities_host;
pub mod clock;
pub mod convert;
mod convert_executor;
mod convert_task;
mod decorations;
pub mod engine;
mod epoch;
pub mod error;
pub mod executor;
pub mod health_check;
pub mod hook;
pub mod hook_chain;
pub mod isolator;
mod isolator_manifest;
mod loaded;
mod loader;
pub mod manifest;
mod plugin_kind;
mod plugin_output;
pub mod plugin_task;
pub mod quarantine;
mod sandbox;
pub mod signature;
pub mod stats;
pub mod store;
pub mod wasm_allocator;
pub mod wasm_authorizer;
pub mod wasm_executor;
pub mod wasm_hook;
pub mod wasm_isolator;

pub use clock::{ManualClock, PluginClock, SystemClock};
pub use engine::PluginEngine;
pub use epoch::EPOCH_TICK;
pub use error::PluginError;
pub use plugin_kind::{PluginKind, PluginLimits, WIT_PACKAGE, WIT_VERSION};
pub use plugin_task::PluginTask;

#[cfg(test)]
mod load_refusal_tests;
