//! Quarantine: a plugin that fails many calls in a row is not called again. A success resets
//! the count. What a quarantined plugin means for the caller depends on its kind: a hook is
//! treated as failed (fail-open: skipped; fail-closed: denies); an executor's launches are
//! refused with the reason.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::error::PluginError;
use super::executor::{Action, Event, ExecutorFactory, ExecutorInstance};
use super::plugin_task::PluginTask;

/// The failure count and verdict of one plugin. `after: None` never quarantines.
#[derive(Debug)]
pub struct Quarantine {
    plugin: String,
    /// The plugin's own name, once an instance told it (a guarded executor's factory does
    /// not know it before).
    learned: std::sync::OnceLock<String>,
    after: Option<u32>,
    state: Mutex<QuarantineState>,
}

/// What an operator sees for one plugin (JSON on the operator surfaces, and metrics).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QuarantineState {
    pub calls: u64,
    pub failures: u64,
    pub consecutive_failures: u32,
    /// Why the plugin is quarantined; `None` while it is not.
    pub quarantined: Option<String>,
}

impl Quarantine {
    pub fn new(plugin: impl Into<String>, after: Option<u32>) -> Self {
        Quarantine {
            plugin: plugin.into(),
            learned: std::sync::OnceLock::new(),
            after: after.filter(|n| *n > 0),
            state: Mutex::new(QuarantineState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QuarantineState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reason calls are refused, if the plugin is quarantined.
    pub fn refused(&self) -> Option<String> {
        self.lock().quarantined.clone()
    }

    pub fn record_success(&self) {
        let mut state = self.lock();
        state.calls += 1;
        state.consecutive_failures = 0;
    }

    /// Counts a failure; quarantines the plugin when it reaches the limit (logged once).
    pub fn record_failure(&self, error: &str) {
        let mut state = self.lock();
        state.calls += 1;
        state.failures += 1;
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        if let Some(after) = self.after
            && state.quarantined.is_none()
            && state.consecutive_failures >= after
        {
            let plugin = self.plugin();
            let reason = format!(
                "plugin {plugin} is quarantined after {after} consecutive failures (last: {error})"
            );
            tracing::error!(plugin = %plugin, "{reason}");
            state.quarantined = Some(reason);
        }
    }

    pub fn state(&self) -> QuarantineState {
        self.lock().clone()
    }

    /// Names the plugin after its instance's own name (first call wins).
    pub fn learn_name(&self, name: &str) {
        // Checked first: this runs on every instance (each task launch); allocate once.
        if self.learned.get().is_none() {
            let _ = self.learned.set(name.to_string());
        }
    }

    pub fn plugin(&self) -> &str {
        self.learned.get().unwrap_or(&self.plugin)
    }
}

/// An executor factory whose plugin is quarantined after `after` consecutive failed calls
/// (instantiate, launch or on-event, across tasks): then launches are refused with the reason.
pub fn guard_executor(factory: ExecutorFactory, after: Option<u32>) -> ExecutorFactory {
    if after.filter(|n| *n > 0).is_none() {
        return factory;
    }
    let quarantine: Arc<Quarantine> = Arc::new(Quarantine::new("executor", after));
    Arc::new(move || {
        if let Some(reason) = quarantine.refused() {
            return Err(PluginError::Quarantined { reason });
        }
        match factory() {
            Ok(inner) => {
                quarantine.learn_name(inner.plugin_name());
                Ok(Box::new(GuardedExecutor {
                    inner,
                    quarantine: quarantine.clone(),
                }) as Box<dyn ExecutorInstance>)
            }
            Err(e) => {
                quarantine.record_failure(&e.to_string());
                Err(e)
            }
        }
    })
}

struct GuardedExecutor {
    inner: Box<dyn ExecutorInstance>,
    quarantine: Arc<Quarantine>,
}

impl GuardedExecutor {
    fn record<T>(&self, answer: Result<T, PluginError>) -> Result<T, PluginError> {
        match &answer {
            Ok(_) => self.quarantine.record_success(),
            Err(e) => self.quarantine.record_failure(&e.to_string()),
        }
        answer
    }
}

impl ExecutorInstance for GuardedExecutor {
    fn plugin_name(&self) -> &str {
        self.inner.plugin_name()
    }

    fn launch(&mut self, task: &PluginTask) -> Result<Vec<Action>, PluginError> {
        let answer = self.inner.launch(task);
        self.record(answer)
    }

    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, PluginError> {
        let answer = self.inner.on_event(event);
        self.record(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantined_after_consecutive_failures_only() {
        let q = Quarantine::new("p", Some(3));
        q.record_failure("a");
        q.record_failure("b");
        q.record_success();
        q.record_failure("c");
        q.record_failure("d");
        assert_eq!(q.refused(), None, "a success resets the count");
        q.record_failure("e");
        let reason = q.refused().expect("quarantined");
        assert!(reason.contains("after 3 consecutive failures") && reason.contains("(last: e)"));
        let state = q.state();
        assert_eq!((state.calls, state.failures), (6, 5));
    }

    #[test]
    fn no_limit_never_quarantines() {
        let q = Quarantine::new("p", None);
        for _ in 0..100 {
            q.record_failure("x");
        }
        assert_eq!(q.refused(), None);
        assert_eq!(Quarantine::new("p", Some(0)).after, None);
    }

    #[test]
    fn an_executor_that_keeps_trapping_has_its_launches_refused_with_the_reason() {
        let engine = crate::PluginEngine::new().expect("engine");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trap-executor.wasm");
        let bytes = corral_test_fixtures::fixture("trap-executor").expect("fixture");
        std::fs::write(&path, bytes).expect("write");
        let spec = path.display().to_string();
        let factory = engine
            .executor_factory(&spec, crate::PluginLimits::EXECUTOR)
            .expect("loads");
        let guarded = guard_executor(factory, Some(2));
        let task = PluginTask::new(Default::default(), "f", "c", "/tmp");
        for _ in 0..2 {
            let mut executor = guarded().expect("not quarantined yet");
            let err = executor.launch(&task).unwrap_err();
            assert!(err.to_string().contains("trapped"), "{err}");
        }
        let refused = guarded().err().expect("quarantined");
        let text = refused.to_string();
        assert!(
            text.contains("plugin trap-executor is quarantined after 2 consecutive failures"),
            "the message names the plugin, not 'executor': {text}"
        );
    }
}
