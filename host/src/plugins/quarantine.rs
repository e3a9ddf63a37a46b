//! Quarantine: a plugin that fails many calls in a row is not called again. A success resets
//! the count. What a quarantined plugin means for the caller depends on its kind: a hook is
//! treated as failed (fail-open: skipped; fail-closed: denies); an executor's launches are
//! refused with the reason.

use std::sync::Mutex;

use serde::Serialize;

/// The failure count and verdict of one plugin. `after: None` never quarantines.
#[derive(Debug)]
pub struct Quarantine {
    plugin: String,
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
            let reason = format!(
                "plugin {} is quarantined after {after} consecutive failures (last: {error})",
                self.plugin
            );
            tracing::error!(plugin = %self.plugin, "{reason}");
            state.quarantined = Some(reason);
        }
    }

    pub fn state(&self) -> QuarantineState {
        self.lock().clone()
    }

    pub fn plugin(&self) -> &str {
        &self.plugin
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
}
