//! The shared wasmtime engine: compiles components once (cached by sha256), checks kind and
//! WIT version at load, and makes instances with a per-call deadline and a memory cap.

use std::time::Duration;

use super::allocator::AllocatorFactory;
use super::error::PluginError;
use super::executor::ExecutorFactory;

/// Bounds on every call into one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    pub call_deadline: Duration,
    pub memory_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Allocator,
    Executor,
    Isolator,
    Hook,
}

/// Cheap to clone; all clones share one engine and one component cache.
#[derive(Clone)]
pub struct PluginEngine {}

impl PluginEngine {
    pub fn new() -> Result<Self, PluginError> {
        todo!("implemented by the plugin runtime work")
    }

    /// `spec` is a built-in name ("drf") or a path to a `.wasm` component. The component is
    /// compiled and checked now, so a bad one is refused at start with a clear error.
    pub fn allocator_factory(
        &self,
        _spec: &str,
        _config: &str,
        _limits: PluginLimits,
    ) -> Result<AllocatorFactory, PluginError> {
        todo!("implemented by the plugin runtime work")
    }

    /// `spec` is a built-in name ("command") or a path to a `.wasm` component.
    pub fn executor_factory(
        &self,
        _spec: &str,
        _limits: PluginLimits,
    ) -> Result<ExecutorFactory, PluginError> {
        todo!("implemented by the plugin runtime work")
    }
}
