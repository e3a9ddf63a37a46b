//! The thin shell around the core: one lock over the core and the stream outlets, effect
//! dispatch, the allocation loop and the timer. Handlers call [`Shared::with_core`]; nothing
//! slow runs under that lock (the allocator and the hooks run outside it, their results are
//! fed in).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc, watch};

use corral_api::agent_protocol::AgentCommand;
use corral_api::operator_events::OperatorEvent;
use corral_api::scheduler::Event;
use corral_state::WriteOp;

use corral_plugin_host::hook_chain::HookChain;

use super::allocation::AllocatorDriver;
use super::core::MasterCore;
use super::effects::{Effect, OperatorUpdate, StreamId};
use super::plugin_platform::PluginPlatform;

/// Coalesces bursts of changes into one allocation cycle.
const ALLOCATION_BATCH_DELAY: Duration = Duration::from_millis(20);
/// How often timers (failover timeouts) are checked.
const TICK_INTERVAL: Duration = Duration::from_secs(1);

/// How many events an operator API subscriber may have waiting; one that falls further
/// behind (it stopped reading) is dropped, so it never holds up the master or the others.
pub const OPERATOR_BUFFER: usize = 16_384;

/// Where effects go: one channel per open stream.
#[derive(Default)]
struct Outlets {
    frameworks: HashMap<StreamId, mpsc::UnboundedSender<Event>>,
    agents: HashMap<StreamId, mpsc::UnboundedSender<AgentCommand>>,
    operators: HashMap<StreamId, mpsc::Sender<Arc<OperatorUpdate>>>,
}

struct Inner {
    core: MasterCore,
    outlets: Outlets,
}

pub struct Shared {
    inner: Mutex<Inner>,
    pub(super) driver: Arc<Mutex<AllocatorDriver>>,
    /// Plugin store and engine for the plugins API and hot swaps (set once at start).
    pub(super) plugins: std::sync::OnceLock<PluginPlatform>,
    /// Hooks run at `on-launch` and `on-agent-register` (issue 6; empty: none), outside the
    /// core's lock (`hook_calls.rs`).
    pub(super) hooks: HookChain,
    /// Who may do what: the ACLs (`--acls`) and the authorizer plugin, if any; neither:
    /// everything is allowed (`authorization.rs`, `authorizers.rs`).
    pub(super) authorizers: super::authorizers::Authorizers,
    pub(super) wake_allocation: Notify,
    pub(super) registry: mpsc::UnboundedSender<Vec<WriteOp>>,
    stop: watch::Sender<bool>,
    /// Each operator subscriber's buffer ([`OPERATOR_BUFFER`]; tests make it small).
    operator_buffer: AtomicUsize,
    pub heartbeat_interval: Duration,
    pub allocation_interval: Duration,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A lock that survives a panic in another holder: the core's state is still the best
/// information the master has.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(
        core: MasterCore,
        driver: AllocatorDriver,
        registry: mpsc::UnboundedSender<Vec<WriteOp>>,
        hooks: HookChain,
        heartbeat_interval: Duration,
        allocation_interval: Duration,
    ) -> Arc<Self> {
        Arc::new(Shared {
            inner: Mutex::new(Inner {
                core,
                outlets: Outlets::default(),
            }),
            driver: Arc::new(Mutex::new(driver)),
            plugins: std::sync::OnceLock::new(),
            hooks,
            authorizers: Default::default(),
            wake_allocation: Notify::new(),
            registry,
            stop: watch::channel(false).0,
            operator_buffer: AtomicUsize::new(OPERATOR_BUFFER),
            heartbeat_interval,
            allocation_interval,
        })
    }

    /// Runs `f` on the core with the current time, then carries out its effects.
    pub fn with_core<R>(&self, f: impl FnOnce(&mut MasterCore, u64) -> R) -> R {
        let mut inner = lock(&self.inner);
        let result = f(&mut inner.core, now_ms());
        self.dispatch(&mut inner);
        result
    }

    fn dispatch(&self, inner: &mut Inner) {
        for effect in inner.core.take_effects() {
            match effect {
                Effect::Event { stream, event } => {
                    if let Some(tx) = inner.outlets.frameworks.get(&stream) {
                        let _ = tx.send(event);
                    }
                }
                Effect::CloseStream { stream } => {
                    inner.outlets.frameworks.remove(&stream);
                }
                Effect::Command { stream, command } => {
                    if let Some(tx) = inner.outlets.agents.get(&stream) {
                        let _ = tx.send(command);
                    }
                }
                Effect::Persist(ops) => {
                    if self.registry.send(ops).is_err() {
                        tracing::warn!("registry writer stopped; a write is lost");
                    }
                }
                Effect::Operator(event) => fan_out(inner, &event),
            }
        }
        if inner.core.take_wants_allocation() {
            self.wake_allocation.notify_one();
        }
    }

    /// Opens a framework stream and runs `f` (the SUBSCRIBE) in the same critical section,
    /// so the stream's first event is the one `f` queues. On error the outlet is removed.
    pub fn open_framework_stream<R, E>(
        &self,
        f: impl FnOnce(&mut MasterCore, u64, StreamId) -> Result<R, E>,
    ) -> Result<(StreamId, R, mpsc::UnboundedReceiver<Event>), E> {
        let stream = uuid::Uuid::new_v4();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = lock(&self.inner);
        inner.outlets.frameworks.insert(stream, tx);
        let result = f(&mut inner.core, now_ms(), stream);
        if result.is_err() {
            inner.outlets.frameworks.remove(&stream);
        }
        self.dispatch(&mut inner);
        result.map(|r| (stream, r, rx))
    }

    /// Opens an operator API subscription: its first event, SUBSCRIBED with the whole state,
    /// is taken in the same critical section as the subscription starts, so the events that
    /// follow it are exactly the changes after that state. What the subscriber may not view
    /// is left out of each as it is sent (`operator_stream.rs`).
    pub fn open_operator_stream(&self) -> (StreamId, mpsc::Receiver<Arc<OperatorUpdate>>) {
        let stream = uuid::Uuid::new_v4();
        let (tx, rx) = mpsc::channel(self.operator_buffer.load(Ordering::Relaxed).max(1));
        let mut inner = lock(&self.inner);
        let state = inner.core.get_state();
        let subscribed = OperatorEvent::subscribed(state, self.heartbeat_interval.as_secs_f64());
        // The channel is new and empty: the first send always fits.
        let _ = tx.try_send(Arc::new(OperatorUpdate::unowned(subscribed)));
        inner.outlets.operators.insert(stream, tx);
        inner.core.set_operator_events(true);
        (stream, rx)
    }

    /// An operator API subscription ended (the client went away, or it was dropped).
    pub fn operator_stream_closed(&self, stream: StreamId) {
        let mut inner = lock(&self.inner);
        inner.outlets.operators.remove(&stream);
        let listening = !inner.outlets.operators.is_empty();
        inner.core.set_operator_events(listening);
    }

    /// Sets the buffer of operator subscribers that connect from now on.
    pub fn set_operator_buffer(&self, events: usize) {
        self.operator_buffer.store(events, Ordering::Relaxed);
    }

    /// How many operator API subscribers are connected.
    pub fn operator_subscribers(&self) -> usize {
        lock(&self.inner).outlets.operators.len()
    }

    /// Opens an agent stream and runs `f` (the registration) with it, as above.
    pub fn open_agent_stream<R, E>(
        &self,
        f: impl FnOnce(&mut MasterCore, u64, StreamId) -> Result<R, E>,
    ) -> Result<(StreamId, R, mpsc::UnboundedReceiver<AgentCommand>), E> {
        let stream = uuid::Uuid::new_v4();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = lock(&self.inner);
        inner.outlets.agents.insert(stream, tx);
        let result = f(&mut inner.core, now_ms(), stream);
        if result.is_err() {
            inner.outlets.agents.remove(&stream);
        }
        self.dispatch(&mut inner);
        result.map(|r| (stream, r, rx))
    }

    /// A framework stream ended (client gone, or the core closed it).
    pub fn framework_stream_closed(&self, stream: StreamId) {
        if self.stopping() {
            return;
        }
        let mut inner = lock(&self.inner);
        inner.outlets.frameworks.remove(&stream);
        let now = now_ms();
        inner.core.framework_stream_closed(now, stream);
        self.dispatch(&mut inner);
    }

    /// An agent stream ended.
    pub fn agent_stream_closed(&self, stream: StreamId) {
        if self.stopping() {
            return;
        }
        let mut inner = lock(&self.inner);
        inner.outlets.agents.remove(&stream);
        inner.core.agent_stream_closed(stream);
        self.dispatch(&mut inner);
    }

    /// Ends an agent's stream from the master's side (the agent re-registers when it hears).
    pub fn close_agent_stream(&self, stream: StreamId) {
        lock(&self.inner).outlets.agents.remove(&stream);
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stops the loops and ends every open stream; the core's state is left as it was (a
    /// stop is not a disconnection of everyone).
    pub fn stop(&self) {
        self.stop.send_replace(true);
        let mut inner = lock(&self.inner);
        inner.outlets.frameworks.clear();
        inner.outlets.agents.clear();
        inner.outlets.operators.clear();
        inner.core.set_operator_events(false);
    }

    /// The allocator's own view (JSON), for operators.
    pub fn allocator_inspect(&self) -> Option<String> {
        lock(&self.driver).inspect()
    }

    /// One allocation cycle: events out of the core, the policy run on a blocking thread (it
    /// is a synchronous, deadline-bounded wasm call), grants back into the core. The driver
    /// is held from the events' hand-over to the offers, so a hot swap falls between cycles.
    pub async fn allocation_cycle(self: &Arc<Self>) {
        let shared = self.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut driver = lock(&shared.driver);
            let replay = driver.needs_replay();
            let input = shared.with_core(|core, now| core.begin_cycle(now, replay));
            let output =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| driver.run(input)));
            match output {
                Ok(output) => shared.with_core(|core, _| core.finish_cycle(output)),
                Err(_) => {
                    // The policy panicked (a native one; wasm traps are errors): start afresh.
                    tracing::error!("allocation cycle panicked; the allocator is replayed");
                    driver.reset();
                }
            }
            if let Some(active) = driver.take_committed()
                && shared
                    .registry
                    .send(vec![corral_plugin_host::store::put_active_allocator(
                        &active,
                    )])
                    .is_err()
            {
                tracing::warn!("registry writer stopped; the active allocator is not persisted");
            }
        })
        .await;
        if let Err(error) = done {
            tracing::error!(%error, "allocation cycle task failed");
        }
    }

    /// Runs allocation cycles every `allocation_interval` and soon after changes.
    pub async fn allocation_loop(self: Arc<Self>) {
        let mut stop = self.stop_signal();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.allocation_interval) => {}
                _ = self.wake_allocation.notified() => {
                    tokio::time::sleep(ALLOCATION_BATCH_DELAY).await;
                }
                _ = stop.changed() => return,
            }
            if self.stopping() {
                return;
            }
            self.allocation_cycle().await;
        }
    }

    /// Checks timers (failover timeouts) every second.
    pub async fn timer_loop(self: Arc<Self>) {
        let mut stop = self.stop_signal();
        let mut ticker = tokio::time::interval(TICK_INTERVAL);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.with_core(|core, now| core.tick(now)),
                _ = stop.changed() => return,
            }
        }
    }
}

/// Hands `event` to every operator subscriber without waiting: one whose buffer is full (it
/// stopped reading) or whose stream ended is dropped, and its stream ends.
fn fan_out(inner: &mut Inner, event: &Arc<OperatorUpdate>) {
    inner
        .outlets
        .operators
        .retain(|stream, tx| match tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(%stream, buffered = tx.max_capacity(),
                    "dropping an operator API subscriber that stopped reading");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    if inner.outlets.operators.is_empty() {
        inner.core.set_operator_events(false);
    }
}
