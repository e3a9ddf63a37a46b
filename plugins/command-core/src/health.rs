//! The health check policy of the command executor, as Mesos' docs/health-checks.md
//! describes it. The first attempt runs `delay` after launch, the next `interval` after each
//! result. Failures are ignored during `grace_period` after launch until the first success.
//! Health is reported (TASK_RUNNING with `healthy`) when it changes; after
//! `consecutive_failures` failures in a row the task is killed. Times come in as arguments
//! (milliseconds), so the policy is tested with a simulated clock.

use corral_sdk::executor::{CheckResult, HealthCheck, RunCheck};

/// What a check result asks of the executor.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A result for no attempt in flight (late or unknown): nothing to do at all.
    Stale,
    /// Nothing to report (no change, or a failure within the grace period).
    Quiet,
    /// Health changed: report it on a TASK_RUNNING update.
    Report(bool),
    /// Too many failures in a row: report unhealthy and kill the task.
    Kill { failures: u32, message: String },
}

#[derive(Debug, Clone)]
pub struct HealthPolicy {
    check: HealthCheck,
    launched_ms: u64,
    failures: u32,
    ever_healthy: bool,
    reported: Option<bool>,
    in_flight: Option<u32>,
    next_id: u32,
}

fn millis(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0) as u64
    } else {
        0
    }
}

impl HealthPolicy {
    pub fn new(check: HealthCheck, launched_ms: u64) -> Self {
        HealthPolicy {
            check,
            launched_ms,
            failures: 0,
            ever_healthy: false,
            reported: None,
            in_flight: None,
            next_id: 0,
        }
    }

    /// How long after launch the first attempt runs.
    pub fn delay_ms(&self) -> u64 {
        millis(self.check.delay_seconds)
    }

    /// How long after a result the next attempt runs (at least 1 ms: never a busy loop).
    pub fn interval_ms(&self) -> u64 {
        millis(self.check.interval_seconds).max(1)
    }

    /// The next attempt, or `None` while one is still running.
    pub fn start_attempt(&mut self) -> Option<RunCheck> {
        if self.in_flight.is_some() {
            return None;
        }
        self.next_id = self.next_id.wrapping_add(1);
        self.in_flight = Some(self.next_id);
        Some(RunCheck {
            id: self.next_id,
            check: self.check.clone(),
        })
    }

    /// Judges an attempt's result at time `now_ms`.
    pub fn on_result(&mut self, result: &CheckResult, now_ms: u64) -> Verdict {
        if self.in_flight != Some(result.id) {
            return Verdict::Stale;
        }
        self.in_flight = None;
        if result.healthy {
            self.failures = 0;
            self.ever_healthy = true;
            return self.report(true);
        }
        let in_grace =
            now_ms.saturating_sub(self.launched_ms) < millis(self.check.grace_period_seconds);
        if !self.ever_healthy && in_grace {
            return Verdict::Quiet;
        }
        self.failures += 1;
        if self.failures >= self.check.consecutive_failures.max(1) {
            self.reported = Some(false);
            return Verdict::Kill {
                failures: self.failures,
                message: result.message.clone(),
            };
        }
        self.report(false)
    }

    fn report(&mut self, healthy: bool) -> Verdict {
        if self.reported == Some(healthy) {
            Verdict::Quiet
        } else {
            self.reported = Some(healthy);
            Verdict::Report(healthy)
        }
    }
}
