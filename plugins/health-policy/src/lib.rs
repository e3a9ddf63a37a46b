//! The health check policy, as Mesos' docs/health-checks.md describes it, written once for
//! the `command` executor plugin (plugins/command-core) and for the agent's tasks recovered
//! after a restart (whose executor plugin instance died with the old agent).
//!
//! The first attempt runs `delay` after the checker starts, the next `interval` after each
//! result. Failures are ignored during the grace period until the first success. Health is
//! reported when it changes; after `consecutive_failures` failures in a row the task is
//! killed. The caller runs the attempts and the timers; times come in as arguments
//! (milliseconds on the caller's clock), so the policy is tested with a simulated clock.
//!
//! The grace period counts from `launched_ms`, given at construction: the executor gives the
//! time it launched the task; the agent gives a recovered task's original launch, so a task
//! launched long before the agent restarted has no grace left after the recovery.

/// The times and the failure limit of a check, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// From the checker's start to the first attempt.
    pub delay_ms: u64,
    /// From one result to the next attempt.
    pub interval_ms: u64,
    /// From the task's launch, during which failures are ignored until the first success.
    pub grace_period_ms: u64,
    /// Failures in a row that kill the task (0 counts as 1).
    pub consecutive_failures: u32,
}

impl Timing {
    /// From Mesos' times in seconds; a negative, NaN or infinite time is 0.
    pub fn from_seconds(
        delay_seconds: f64,
        interval_seconds: f64,
        grace_period_seconds: f64,
        consecutive_failures: u32,
    ) -> Timing {
        Timing {
            delay_ms: millis(delay_seconds),
            interval_ms: millis(interval_seconds),
            grace_period_ms: millis(grace_period_seconds),
            consecutive_failures,
        }
    }
}

/// Seconds as whole milliseconds: 0 for anything that is not a positive finite time.
pub fn millis(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0) as u64
    } else {
        0
    }
}

/// What a check result asks of the task.
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

/// One task's checker state: failures in a row, what was last reported, the attempt in flight.
#[derive(Debug, Clone)]
pub struct HealthPolicy {
    timing: Timing,
    launched_ms: u64,
    failures: u32,
    ever_healthy: bool,
    reported: Option<bool>,
    in_flight: Option<u32>,
    next_id: u32,
}

impl HealthPolicy {
    /// The policy of a task launched at `launched_ms` (on the clock of [`HealthPolicy::on_result`]).
    pub fn new(timing: Timing, launched_ms: u64) -> Self {
        HealthPolicy {
            timing,
            launched_ms,
            failures: 0,
            ever_healthy: false,
            reported: None,
            in_flight: None,
            next_id: 0,
        }
    }

    /// How long after the checker starts the first attempt runs.
    pub fn delay_ms(&self) -> u64 {
        self.timing.delay_ms
    }

    /// How long after a result the next attempt runs (at least 1 ms: never a busy loop).
    pub fn interval_ms(&self) -> u64 {
        self.timing.interval_ms.max(1)
    }

    /// The id of the next attempt, or `None` while one is still running.
    pub fn start_attempt(&mut self) -> Option<u32> {
        if self.in_flight.is_some() {
            return None;
        }
        self.next_id = self.next_id.wrapping_add(1);
        self.in_flight = Some(self.next_id);
        Some(self.next_id)
    }

    /// Judges the result of attempt `id` at time `now_ms`.
    pub fn on_result(&mut self, id: u32, healthy: bool, message: &str, now_ms: u64) -> Verdict {
        if self.in_flight != Some(id) {
            return Verdict::Stale;
        }
        self.in_flight = None;
        if healthy {
            self.failures = 0;
            self.ever_healthy = true;
            return self.report(true);
        }
        let in_grace = now_ms.saturating_sub(self.launched_ms) < self.timing.grace_period_ms;
        if !self.ever_healthy && in_grace {
            return Verdict::Quiet;
        }
        self.failures += 1;
        if self.failures >= self.timing.consecutive_failures.max(1) {
            self.reported = Some(false);
            return Verdict::Kill {
                failures: self.failures,
                message: message.to_string(),
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

#[cfg(test)]
mod tests;
