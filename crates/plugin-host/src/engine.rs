//! The shared wasmtime engine: compiles components once (cached by sha256), checks kind and
//! WIT version at load, and makes instances with a per-call deadline and a memory cap.
//!
//! Default limits (see [`PluginLimits`]):
//!
//! | kind      | call deadline | memory  |
//! |-----------|---------------|---------|
//! | allocator | 1 s           | 256 MiB |
//! | executor  | 100 ms        | 32 MiB  |
//! | isolator  | 1 s           | 64 MiB  |
//!
//! An allocator's `allocate` walks the whole cluster, so it gets a long deadline (the event
//! calls share it; they are index updates and take microseconds). An executor only turns
//! events into actions; 100 ms is generous.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use super::allocator::AllocatorFactory;
use super::clock::{PluginClock, SystemClock};
use super::epoch::start_ticker;
use super::error::PluginError;
use super::executor::ExecutorFactory;
use super::sandbox::PluginState;
use super::wasm_allocator::AllocatorMaker;
use super::wasm_executor::ExecutorMaker;
use corral_wit::host_api;

/// The WIT package version this host speaks.
pub const WIT_VERSION: &str = "0.1.0";
/// The WIT package every plugin interface belongs to.
pub const WIT_PACKAGE: &str = "corral:plugin";

/// Bounds on every call into one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    pub call_deadline: Duration,
    pub memory_bytes: usize,
}

impl PluginLimits {
    /// Allocator defaults.
    pub const ALLOCATOR: PluginLimits = PluginLimits {
        call_deadline: Duration::from_secs(1),
        memory_bytes: 256 << 20,
    };
    /// Executor defaults, for every call.
    pub const EXECUTOR: PluginLimits = PluginLimits {
        call_deadline: Duration::from_millis(100),
        memory_bytes: 32 << 20,
    };
    /// Isolator maximums (a manifest may ask for less): `discover` reads driver files and
    /// `prepare` runs before every task launch on the agent.
    pub const ISOLATOR: PluginLimits = PluginLimits {
        call_deadline: Duration::from_secs(1),
        memory_bytes: 64 << 20,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Allocator,
    Executor,
    Isolator,
    Hook,
}

impl PluginKind {
    /// The WIT interface name, e.g. "allocator".
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::Allocator => "allocator",
            PluginKind::Executor => "executor",
            PluginKind::Isolator => "isolator",
            PluginKind::Hook => "hook",
        }
    }

    /// The export a component of this kind must have, e.g. "corral:plugin/allocator@0.1.0".
    pub fn export_name(self) -> String {
        format!("{WIT_PACKAGE}/{}@{WIT_VERSION}", self.interface())
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.interface())
    }
}

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
    trust: std::sync::OnceLock<super::signature::TrustPolicy>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine").finish_non_exhaustive()
    }
}

/// A component that passed the load checks, ready to instantiate.
pub(crate) struct LoadedPlugin {
    pub(crate) name: Arc<str>,
    pub(crate) pre: InstancePre<PluginState>,
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

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }

    pub(crate) fn clock(&self) -> Arc<dyn PluginClock> {
        self.inner.clock.clone()
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
        let maker = AllocatorMaker::new(self.clone(), loaded, config.to_string(), limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|a| Box::new(a) as Box<dyn super::allocator::AllocatorPolicy>)
        }))
    }

    /// `spec` is a built-in name ("command") or a path to a `.wasm` component.
    pub fn executor_factory(
        &self,
        spec: &str,
        limits: PluginLimits,
    ) -> Result<ExecutorFactory, PluginError> {
        let loaded = self.load(spec, PluginKind::Executor)?;
        let maker = ExecutorMaker::new(self.clone(), loaded, limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|e| Box::new(e) as Box<dyn super::executor::ExecutorInstance>)
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
        let maker = AllocatorMaker::new(self.clone(), loaded, config.to_string(), limits)?;
        maker.instantiate()?;
        Ok(Arc::new(move || {
            maker
                .instantiate()
                .map(|a| Box::new(a) as Box<dyn super::allocator::AllocatorPolicy>)
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
    ) -> Result<Box<dyn super::isolator::IsolatorPlugin>, PluginError> {
        let mut loaded = self.load(spec, PluginKind::Isolator)?;
        let manifest = super::isolator_manifest::find(spec, &loaded.name)?;
        if manifest.plugin_kind() != PluginKind::Isolator {
            return Err(PluginError::Invalid {
                plugin: manifest.name.clone(),
                reason: format!("its manifest says kind = {}", manifest.plugin_kind()),
            });
        }
        loaded.name = manifest.name.clone().into();
        let limits = manifest.limits(PluginLimits::ISOLATOR);
        let isolator = super::wasm_isolator::WasmIsolator::new(
            self.clone(),
            loaded,
            manifest,
            config.to_string(),
            root.to_path_buf(),
            limits,
        )?;
        Ok(Box::new(isolator))
    }

    /// Checks signatures of plugin files loaded from now on (built-ins are part of the binary
    /// and always trusted). Set once, before loading plugins; `false` if one was already set.
    pub fn set_trust_policy(&self, policy: super::signature::TrustPolicy) -> bool {
        self.inner.trust.set(policy).is_ok()
    }

    /// The signature policy set by [`PluginEngine::set_trust_policy`], if any.
    pub fn trust_policy(&self) -> Option<&super::signature::TrustPolicy> {
        self.inner.trust.get()
    }

    /// Resolves `spec`, compiles (or finds in the cache) and checks the component.
    pub(crate) fn load(&self, spec: &str, kind: PluginKind) -> Result<LoadedPlugin, PluginError> {
        let (name, bytes) = super::loader::read_spec(spec)?;
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
        super::loader::check_interfaces(&self.inner.engine, &name, &component, kind)?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| {
            PluginError::Instantiate {
                plugin: name.clone(),
                reason: format!("{e:#}"),
            }
        })?;
        Ok(LoadedPlugin {
            name: name.into(),
            pre,
        })
    }

    /// Compiles `bytes` once; later loads of the same bytes reuse the compiled component.
    fn compile(&self, name: &str, bytes: &[u8]) -> Result<Component, PluginError> {
        let digest = super::loader::sha256(bytes);
        let mut cache = self
            .inner
            .components
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(component) = cache.get(&digest) {
            return Ok(component.clone());
        }
        let started = std::time::Instant::now();
        let component = super::loader::compile(&self.inner.engine, name, bytes)?;
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
