//! One plugin instance's sandbox: its own `Store` with a WASI context that grants nothing,
//! the `host` import, a memory cap, and the per-call deadline. [`Sandbox::call`] turns every
//! way a call can go wrong into a [`PluginError`] and refuses calls into a poisoned instance.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::clock::{PluginClock, WasiWallClock};
use super::epoch::deadline_ticks;
use super::error::PluginError;
use super::plugin_kind::PluginLimits;
use super::plugin_output::PluginOutput;
use corral_wit::host_api::{self, LogLevel};

/// Longest log line a plugin may write; longer ones are cut so a plugin cannot flood the log
/// with one call.
const MAX_LOG_LINE: usize = 4096;
/// Table elements a plugin may hold (8 bytes each in wasmtime): 1 Mi elements, 8 MiB.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Caps the sum of all linear memories of one instance and remembers a refusal, so that the
/// trap that usually follows (Rust aborts on allocation failure) is reported as what it is.
pub(crate) struct MemoryCap {
    limit_bytes: usize,
    used_bytes: usize,
    denied: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self
            .used_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if after > self.limit_bytes {
            self.denied = true;
            return Ok(false);
        }
        self.used_bytes = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// What a plugin's store holds: the WASI context, the memory cap and what the `host`
/// import needs.
pub(crate) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    cap: MemoryCap,
    stderr: PluginOutput,
    plugin: Arc<str>,
    clock: Arc<dyn PluginClock>,
    /// An isolator's grants for the `capabilities` import; `None` for other kinds.
    pub(crate) capabilities: Option<Arc<super::capabilities::CapabilityGrants>>,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host_api::Host for PluginState {
    fn log(&mut self, level: LogLevel, message: String) {
        let message = truncate(&message, MAX_LOG_LINE);
        let plugin = &*self.plugin;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn now(&mut self) -> u64 {
        self.clock.now_ms()
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A store for one instance, with nothing granted: no preopens, env, args or network;
/// stdout and stderr go to the host log at debug level.
pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    plugin: Arc<str>,
    clock: Arc<dyn PluginClock>,
    limits: PluginLimits,
) -> Store<PluginState> {
    let stderr = PluginOutput::stderr(plugin.clone());
    let wasi = WasiCtx::builder()
        .stdout(PluginOutput::stdout(plugin.clone()))
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .wall_clock(WasiWallClock(clock.clone()))
        .build();
    let state = PluginState {
        wasi,
        table: ResourceTable::new(),
        cap: MemoryCap {
            limit_bytes: limits.memory_bytes,
            used_bytes: 0,
            denied: false,
        },
        stderr,
        plugin,
        clock,
        capabilities: None,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.cap);
    store.set_epoch_deadline(deadline_ticks(limits.call_deadline));
    store
}

/// A live instance: its store, its typed exports `B`, and whether an earlier failure made it
/// unusable.
pub(crate) struct Sandbox<B> {
    pub(crate) store: Store<PluginState>,
    pub(crate) bindings: B,
    plugin: Arc<str>,
    limits: PluginLimits,
    poisoned: bool,
    stats: Arc<super::stats::PluginStats>,
}

impl<B> Sandbox<B> {
    pub(crate) fn new(store: Store<PluginState>, bindings: B, limits: PluginLimits) -> Self {
        let plugin = store.data().plugin.clone();
        let stats = super::stats::for_plugin(&plugin);
        Sandbox {
            store,
            bindings,
            plugin,
            limits,
            poisoned: false,
            stats,
        }
    }

    /// An instance made by `instantiate` in `store` (every kind's `...PluginPre::instantiate`);
    /// a trap in its start code, the deadline or the memory cap is reported as for a call.
    pub(crate) fn instantiated(
        mut store: Store<PluginState>,
        limits: PluginLimits,
        instantiate: impl FnOnce(&mut Store<PluginState>) -> wasmtime::Result<B>,
    ) -> Result<Self, PluginError> {
        match instantiate(&mut store) {
            Ok(bindings) => Ok(Sandbox::new(store, bindings, limits)),
            Err(err) => {
                let state = store.data();
                Err(instantiate_error(&err, &state.plugin, limits, state))
            }
        }
    }

    /// The instance after its `init(config)` call (`init` makes it); a plugin that refuses its
    /// configuration is the error, so a bad config is refused where the plugin is loaded.
    pub(crate) fn initialized(
        mut self,
        init: impl FnOnce(&B, &mut Store<PluginState>) -> wasmtime::Result<Result<(), String>>,
    ) -> Result<Self, PluginError> {
        self.call("init", init)?
            .map_err(|message| self.failed("init", message))?;
        Ok(self)
    }

    pub(crate) fn plugin(&self) -> &str {
        &self.plugin
    }

    /// Whether an earlier trap, timeout or memory exhaustion made the instance unusable.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Calls into the instance with a fresh deadline. A trap, timeout or memory exhaustion
    /// poisons the instance; later calls fail with `Poisoned` without entering wasm.
    pub(crate) fn call<R: CallAnswer>(
        &mut self,
        call: &str,
        f: impl FnOnce(&B, &mut Store<PluginState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.poisoned {
            return Err(PluginError::Poisoned {
                plugin: self.plugin.to_string(),
            });
        }
        self.store
            .set_epoch_deadline(deadline_ticks(self.limits.call_deadline));
        self.store.data_mut().cap.denied = false;
        self.store.data().stderr.clear();
        let started = std::time::Instant::now();
        let result = f(&self.bindings, &mut self.store);
        // A trap and an `Err` answer are both errors, counted here only.
        let ok = result.as_ref().is_ok_and(|answer| !answer.is_refusal());
        self.stats.record(started.elapsed(), ok);
        match result {
            Ok(answer) => Ok(answer),
            Err(err) => {
                self.poisoned = true;
                let error =
                    classify_call_error(&err, &self.plugin, call, self.limits, self.store.data());
                tracing::warn!(plugin = &*self.plugin, call, "{error}; details: {err:?}");
                Err(error)
            }
        }
    }

    /// The error for an answer the host refuses. Does not poison: the instance behaved, it
    /// just answered badly.
    pub(crate) fn bad_answer(&self, call: &str, message: impl Into<String>) -> PluginError {
        let error = PluginError::BadAnswer {
            plugin: self.plugin.to_string(),
            call: call.to_string(),
            message: message.into(),
        };
        tracing::warn!(plugin = &*self.plugin, call, "{error}");
        self.stats.count_error();
        error
    }

    /// The error for a call that answered `Err(message)`.
    pub(crate) fn failed(&self, call: &str, message: String) -> PluginError {
        PluginError::Failed {
            plugin: self.plugin.to_string(),
            call: call.to_string(),
            message,
        }
    }
}

/// Maps a wasmtime error from a call (or from instantiation) to the error the host reports,
/// using what the store saw: a refused memory growth, the plugin's last words on stderr.
pub(crate) fn classify_call_error(
    err: &wasmtime::Error,
    plugin: &str,
    call: &str,
    limits: PluginLimits,
    state: &PluginState,
) -> PluginError {
    let trap = err.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return PluginError::Timeout {
            plugin: plugin.to_string(),
            call: call.to_string(),
            deadline_ms: u64::try_from(limits.call_deadline.as_millis()).unwrap_or(u64::MAX),
        };
    }
    if state.cap.denied {
        return PluginError::MemoryLimit {
            plugin: plugin.to_string(),
            call: call.to_string(),
            limit_bytes: limits.memory_bytes,
        };
    }
    let mut message = match trap {
        Some(trap) => trap.to_string(),
        None => format!("{err:#}"),
    };
    if let Some(stderr) = state.stderr.tail_text() {
        message.push_str(" (plugin stderr: ");
        message.push_str(&stderr);
        message.push(')');
    }
    PluginError::Trap {
        plugin: plugin.to_string(),
        call: call.to_string(),
        message,
    }
}

/// Maps a failed instantiation: a trap in the component's start code, the deadline or the
/// memory cap as for calls; anything else (a link or resource error) is `Instantiate`.
fn instantiate_error(
    err: &wasmtime::Error,
    plugin: &str,
    limits: PluginLimits,
    state: &PluginState,
) -> PluginError {
    match classify_call_error(err, plugin, "instantiate", limits, state) {
        PluginError::Trap { .. } if err.downcast_ref::<Trap>().is_none() => {
            PluginError::Instantiate {
                plugin: plugin.to_string(),
                reason: format!("{err:#}"),
            }
        }
        other => other,
    }
}

/// What a plugin call answers: a WIT `result` whose `Err` counts as a failed call in the
/// plugin's stats; other answers cannot fail.
pub(crate) trait CallAnswer {
    fn is_refusal(&self) -> bool {
        false
    }
}

impl CallAnswer for () {}
impl CallAnswer for String {}
impl<T> CallAnswer for Vec<T> {}
impl<T> CallAnswer for Result<T, String> {
    fn is_refusal(&self) -> bool {
        self.is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cap_counts_every_memory_and_records_refusal() {
        let mut cap = MemoryCap {
            limit_bytes: 4 << 16,
            used_bytes: 0,
            denied: false,
        };
        assert!(cap.memory_growing(0, 2 << 16, None).expect("no error"));
        assert!(cap.memory_growing(0, 2 << 16, None).expect("no error"));
        assert!(!cap.denied);
        assert!(
            !cap.memory_growing(2 << 16, 3 << 16, None)
                .expect("no error")
        );
        assert!(cap.denied);
    }

    #[test]
    fn long_log_lines_are_cut_on_a_char_boundary() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("hello", 10), "hello");
    }
}
