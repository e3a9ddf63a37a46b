//! [`LoadedPlugin`]: a component that passed the engine's load checks, ready to instantiate,
//! with the [`StoreMaker`] its instances' stores come from. The engine makes these and hands
//! them to the adapters, so an adapter never needs the engine itself.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::clock::PluginClock;
use super::plugin_kind::PluginLimits;
use super::sandbox::{PluginState, new_store};

pub(crate) struct LoadedPlugin {
    pub(crate) name: Arc<str>,
    pub(crate) pre: InstancePre<PluginState>,
    pub(crate) stores: StoreMaker,
}

/// Makes the store of each new instance: the engine's, with the plugins' clock.
#[derive(Clone)]
pub(crate) struct StoreMaker {
    engine: wasmtime::Engine,
    clock: Arc<dyn PluginClock>,
}

impl StoreMaker {
    pub(crate) fn new(engine: wasmtime::Engine, clock: Arc<dyn PluginClock>) -> Self {
        StoreMaker { engine, clock }
    }

    /// A store for one instance of `plugin`, with nothing granted (see [`new_store`]).
    pub(crate) fn store(&self, plugin: &Arc<str>, limits: PluginLimits) -> Store<PluginState> {
        new_store(&self.engine, plugin.clone(), self.clock.clone(), limits)
    }
}
