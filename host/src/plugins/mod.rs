//! The plugin runtime: a wasmtime engine with per-call deadlines and memory caps, compiled
//! components cached by sha256, and one adapter per plugin kind that turns WIT calls into
//! typed Rust calls with errors instead of traps.

pub mod allocator;
pub mod bindings;
pub mod builtin;
pub mod convert;
pub mod error;
pub mod engine;
pub mod executor;

pub use engine::{PluginEngine, PluginKind, PluginLimits};
pub use error::PluginError;
