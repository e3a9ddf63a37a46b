//! The shared wasmtime engine: compiles components once (cached by sha256), checks kind and
//! WIT version at load, and makes each kind's factory or instance with a per-call deadline
//! and a memory cap (defaults in [`PluginLimits`]). It sits above the loaders and the
//! adapters: they get a `LoadedPlugin` from it and never name the engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasmtime::component::{Component, HasSelf, Linker};

use super::allocator::{AllocatorFactory, AllocatorPolicy};
use super::clock::{PluginClock, SystemClock};
use super::epoch::start_ticker;
use super::error::PluginError;
use super::executor::{ExecutorFactory, ExecutorInstance};
use super::hook::{HookFactory, HookInstance};
use super::isolator::IsolatorPlugin;
use super::loaded::{LoadedPlugin, StoreMaker};
// Also here, where the master, the agent and the CLI have always found them.
pub use super::plugin_kind::{PluginKind, PluginLimits, WIT_PACKAGE, WIT_VERSION};
use super::sandbox::PluginState;
use super::signature::TrustPolicy;
use super::wasm_allocator::AllocatorMaker;
use super::wasm_authorizer::PluginAuthorizer;
use super::wasm_executor::ExecutorMaker;
use super::wasm_hook::HookMaker;
use super::wasm_isolator::WasmIsolator;
use super::{isolator_manifest, loader};
use corral_wit::host_api;

/// Cheap to clone; all clones share one engine and one component cache.
#[derive(Clone)]
pub struct PluginEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: wasmtime::Engine,
    linker: Linker<PluginState>,
    /// Compiled components by sha256 of their bytes.
    components: Mutex<HashMap<[u8; 32], Component>>,
    clock: Arc<dyn PluginClock>,
    /// Signature checks for plugin files read from disk (unset: none).
    trust: std::sync::OnceLock<TrustPolicy>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine").finish_non_exhaustive()
    }
}

impl PluginEngine {
    pub fn new() -> Result<Self, PluginError> {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An engine whose plugins read time from `clock` (`host.now` and WASI's wall clock).
    pub fn with_clock(clock: Arc<dyn PluginClock>) -> Result<Self, PluginError> {
        let engine_error = |reason: String| PluginError::Instantiate {
            plugin: "(engine)".to_string(),
            reason,
        };
        let engine = wasmtime::Engine::new(&engine_config())
            .map_err(|e| engine_error(format!("cannot create the wasm engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| engine_error(format!("cannot link WASI: {e:#}")))?;
        host_api::add_to_linker::<PluginState, HasSelf<PluginState>>(&mut linker, |s| s)
            .map_err(|e| engine_error(format!("cannot link the host interface: {e:#}")))?;
        corral_wit::isolator::corral::plugin::capabilities::add_to_linker::<
            PluginState,
            HasSelf<PluginState>,
        >(&mut linker, |s| s)
        .map_err(|e| engine_error(format!("cannot link the capabilities interface: {e:#}")))?;
        start_ticker(&engine)
            .map_err(|e| engine_error(format!("cannot start the epoch thread: {e}")))?;
        Ok(PluginEngine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                components: Mutex::new(HashMap::new()),
                clock,
                trust: std::sync::OnceLock::new(),
            }),
        })
    }

    /// `spec` is a built-in name ("drf") or a path to a `.wasm` component. The component is
    /// compiled and checked now, so a bad one is refused at start with a clear error. The
    /// factory's instances get `init(config)`; a first instance is made now so that a config
    /// the plugin rejects is refused here too.
    pub fn allocator_factory(
        &self,
        spec: &str,
        config: &str,
        limits: PluginLimits,
    ) -> Result<AllocatorFactory, PluginError> {
        let loaded = self.load(spec, PluginKind::Allocator)?;
        let maker = AllocatorMaker::new(loaded, config.to_string(), limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|a| Box::new(a) as Box<dyn AllocatorPolicy>)
        }))
    }

    /// `spec` is a built-in name ("command") or a path to a `.wasm` component.
    pub fn executor_factory(
        &self,
        spec: &str,
        limits: PluginLimits,
    ) -> Result<ExecutorFactory, PluginError> {
        let loaded = self.load(spec, PluginKind::Executor)?;
        let maker = ExecutorMaker::new(loaded, limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|e| Box::new(e) as Box<dyn ExecutorInstance>)
        }))
    }

    /// An allocator factory from a component's bytes (an installed plugin), checked and with
    /// a first instance made now, as [`PluginEngine::allocator_factory`] does.
    pub fn allocator_factory_from_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        config: &str,
        limits: PluginLimits,
    ) -> Result<AllocatorFactory, PluginError> {
        let loaded = self.load_bytes(name, bytes, PluginKind::Allocator)?;
        let maker = AllocatorMaker::new(loaded, config.to_string(), limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|a| Box::new(a) as Box<dyn AllocatorPolicy>)
        }))
    }

    /// Compiles `bytes` and checks that they are a component of `kind` for this host's WIT
    /// version whose imports this host provides (the checks an install makes).
    pub fn check_component(
        &self,
        name: &str,
        bytes: &[u8],
        kind: PluginKind,
    ) -> Result<(), PluginError> {
        self.load_bytes(name, bytes, kind).map(|_| ())
    }

    /// An isolator: `spec` is a built-in name ("gpu") or a path to a `.wasm` component whose
    /// manifest is embedded (custom section) or beside it (`FILE.toml`).
    /// It runs under the manifest's limits capped by [`PluginLimits::ISOLATOR`], reads devices
    /// and files below `root`, and gets `init(config)` now.
    pub fn isolator(
        &self,
        spec: &str,
        config: &str,
        root: &std::path::Path,
    ) -> Result<Box<dyn IsolatorPlugin>, PluginError> {
        let mut loaded = self.load(spec, PluginKind::Isolator)?;
        let manifest = isolator_manifest::find(spec, &loaded.name)?;
        if manifest.plugin_kind() != PluginKind::Isolator {
            return Err(PluginError::Invalid {
                plugin: manifest.name.clone(),
                reason: format!("its manifest says kind = {}", manifest.plugin_kind()),
            });
        }
        loaded.name = manifest.name.clone().into();
        let limits = manifest.limits(PluginLimits::ISOLATOR);
        let isolator = WasmIsolator::new(
            loaded,
            manifest,
            config.to_string(),
            root.to_path_buf(),
            limits,
        )?;
        Ok(Box::new(isolator))
    }

    /// Loads `spec` (a built-in hook name or a `.wasm` path) as a hook; the first instance is
    /// made and `init`ialized now, so a bad component or a config the hook rejects is refused
    /// at start.
    pub fn hook_factory(
        &self,
        spec: &str,
        config: &str,
        limits: PluginLimits,
    ) -> Result<HookFactory, PluginError> {
        let loaded = self.load(spec, PluginKind::Hook)?;
        let maker = HookMaker::new(loaded, config.to_string(), limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|h| Box::new(h) as Box<dyn HookInstance>)
        }))
    }

    /// An authorizer: `spec` is a built-in name ("policy") or a path to a `.wasm` component;
    /// its first instance gets `init(config)` now, so a policy it rejects is refused here.
    pub fn authorizer(
        &self,
        spec: &str,
        config: &str,
        limits: PluginLimits,
    ) -> Result<PluginAuthorizer, PluginError> {
        let loaded = self.load(spec, PluginKind::Authorizer)?;
        PluginAuthorizer::new(loaded, config.to_string(), limits)
    }

    /// An authorizer from a component's bytes (an installed plugin), checked and initialized
    /// now, as [`PluginEngine::authorizer`] does.
    pub fn authorizer_from_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        config: &str,
        limits: PluginLimits,
    ) -> Result<PluginAuthorizer, PluginError> {
        let loaded = self.load_bytes(name, bytes, PluginKind::Authorizer)?;
        PluginAuthorizer::new(loaded, config.to_string(), limits)
    }

    /// Checks signatures of plugin files loaded from now on (built-ins are part of the binary
    /// and always trusted). Set once, before loading plugins; `false` if one was already set.
    pub fn set_trust_policy(&self, policy: TrustPolicy) -> bool {
        self.inner.trust.set(policy).is_ok()
    }

    /// The signature policy set by [`PluginEngine::set_trust_policy`], if any.
    pub fn trust_policy(&self) -> Option<&TrustPolicy> {
        self.inner.trust.get()
    }

    /// Resolves `spec`, compiles (or finds in the cache) and checks the component.
    fn load(&self, spec: &str, kind: PluginKind) -> Result<LoadedPlugin, PluginError> {
        let (name, bytes) = loader::read_spec(spec)?;
        if let (std::borrow::Cow::Owned(wasm), Some(policy)) = (&bytes, self.inner.trust.get()) {
            let signed_by = policy
                .check_file(&name, std::path::Path::new(spec), wasm)
                .map_err(|e| PluginError::Signature {
                    plugin: name.clone(),
                    reason: e.to_string(),
                })?;
            if let Some(key) = signed_by {
                tracing::info!(plugin = %name, %key, "plugin signature verified");
            }
        }
        self.load_bytes(&name, &bytes, kind)
    }

    /// Compiles (or finds in the cache) and checks a component's bytes.
    fn load_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        kind: PluginKind,
    ) -> Result<LoadedPlugin, PluginError> {
        let name = name.to_string();
        let component = self.compile(&name, bytes)?;
        loader::check_interfaces(&self.inner.engine, &name, &component, kind)?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| {
            PluginError::Instantiate {
                plugin: name.clone(),
                reason: format!("{e:#}"),
            }
        })?;
        Ok(LoadedPlugin {
            name: name.into(),
            pre,
            stores: StoreMaker::new(self.inner.engine.clone(), self.inner.clock.clone()),
        })
    }

    /// Compiles `bytes` once; later loads of the same bytes reuse the compiled component.
    fn compile(&self, name: &str, bytes: &[u8]) -> Result<Component, PluginError> {
        let digest = loader::sha256(bytes);
        let mut cache = self
            .inner
            .components
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(component) = cache.get(&digest) {
            return Ok(component.clone());
        }
        let started = std::time::Instant::now();
        let component = loader::compile(&self.inner.engine, name, bytes)?;
        tracing::info!(
            plugin = name,
            ms = started.elapsed().as_millis() as u64,
            "compiled plugin component"
        );
        cache.insert(digest, component.clone());
        Ok(component)
    }

    /// How many distinct components have been compiled (for tests of the cache).
    pub fn compiled_components(&self) -> usize {
        self.inner
            .components
            .lock()
            .map(|c| c.len())
            .unwrap_or_default()
    }
}

/// Epoch interruption for deadlines, the component model on, and instances allocated on
/// demand. The pooling allocator does not pay here: instantiating the `command` executor on
/// demand takes ~40-60 us (pooling: ~27 us), next to ~1 ms to spawn the task's process,
/// while a pool reserves address space for its largest plugin in every slot and caps how
/// many instances may be live at once.
fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}
