//! The health check policy the host applies to a recovered task (its executor plugin, which
//! held the policy, died with the old agent). The same rules as the command executor's
//! (Mesos' docs/health-checks.md): the first attempt runs `delay` after the checker starts,
//! the next `interval` after each result; failures are ignored during the grace period until
//! the first success; health is reported when it changes; after `consecutive_failures`
//! failures in a row the task is killed.
//!
//! After a restart the grace period counts from the task's launch (its supervisor's start
//! time), not from the recovery: a task launched long ago has no grace left, so a task that
//! was healthy and turns bad is killed as before the restart, while one recovered within its
//! grace period keeps what is left of it.

use std::time::Duration;

use corral_plugin_host::executor::{CheckResult, RunCheck};
use corral_plugin_host::health_check::HealthCheck;

/// What a check result asks of the recovered task.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A result for no attempt in flight: ignore it.
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
    failures: u32,
    ever_healthy: bool,
    reported: Option<bool>,
    in_flight: Option<u32>,
    next_id: u32,
}

fn duration(seconds: f64) -> Duration {
    if seconds.is_finite() && seconds > 0.0 {
        Duration::from_secs_f64(seconds.min(86_400.0 * 365.0))
    } else {
        Duration::ZERO
    }
}

impl HealthPolicy {
    pub fn new(check: HealthCheck) -> Self {
        HealthPolicy {
            check,
            failures: 0,
            ever_healthy: false,
            reported: None,
            in_flight: None,
            next_id: 0,
        }
    }

    /// How long after the checker starts the first attempt runs.
    pub fn delay(&self) -> Duration {
        duration(self.check.delay_seconds)
    }

    /// How long after a result the next attempt runs (at least 1 ms: never a busy loop).
    pub fn interval(&self) -> Duration {
        duration(self.check.interval_seconds).max(Duration::from_millis(1))
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

    /// Judges an attempt's result, `since_launch` after the task was launched.
    pub fn on_result(&mut self, result: &CheckResult, since_launch: Duration) -> Verdict {
        if self.in_flight != Some(result.id) {
            return Verdict::Stale;
        }
        self.in_flight = None;
        if result.healthy {
            self.failures = 0;
            self.ever_healthy = true;
            return self.report(true);
        }
        if !self.ever_healthy && since_launch < duration(self.check.grace_period_seconds) {
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

/// How long ago a process started, from its start time in clock ticks since boot (as
/// `/proc/PID/stat` gives it); `None` if the uptime cannot be read.
pub fn since_start(start_ticks: u64) -> Option<Duration> {
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let up: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks <= 0 {
        return None;
    }
    let started = start_ticks as f64 / ticks as f64;
    Some(Duration::from_secs_f64((up - started).max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_plugin_host::health_check::CheckKind;

    fn policy(failures: u32, grace_s: f64) -> HealthPolicy {
        HealthPolicy::new(HealthCheck {
            kind: CheckKind::Tcp(1),
            delay_seconds: 0.0,
            interval_seconds: 1.0,
            timeout_seconds: 1.0,
            consecutive_failures: failures,
            grace_period_seconds: grace_s,
        })
    }

    fn attempt(p: &mut HealthPolicy, healthy: bool, since_launch_s: u64) -> Verdict {
        let id = p.start_attempt().expect("no attempt in flight").id;
        let result = CheckResult {
            id,
            healthy,
            message: "msg".into(),
        };
        p.on_result(&result, Duration::from_secs(since_launch_s))
    }

    #[test]
    fn health_is_reported_on_change_and_failures_in_a_row_kill() {
        let mut p = policy(2, 0.0);
        assert_eq!(attempt(&mut p, true, 100), Verdict::Report(true));
        assert_eq!(attempt(&mut p, true, 101), Verdict::Quiet);
        assert_eq!(attempt(&mut p, false, 102), Verdict::Report(false));
        assert_eq!(
            attempt(&mut p, false, 103),
            Verdict::Kill {
                failures: 2,
                message: "msg".into()
            }
        );
    }

    #[test]
    fn grace_counts_from_launch_and_ends_with_the_first_success() {
        let mut p = policy(1, 10.0);
        assert_eq!(attempt(&mut p, false, 5), Verdict::Quiet, "within grace");
        assert_eq!(attempt(&mut p, true, 6), Verdict::Report(true));
        assert!(matches!(attempt(&mut p, false, 7), Verdict::Kill { .. }));
        let mut late = policy(1, 10.0);
        assert!(
            matches!(attempt(&mut late, false, 11), Verdict::Kill { .. }),
            "a task launched before the grace period ended gets none after recovery"
        );
    }

    #[test]
    fn a_result_for_no_attempt_is_stale() {
        let mut p = policy(1, 0.0);
        let late = CheckResult {
            id: 7,
            healthy: false,
            message: String::new(),
        };
        assert_eq!(p.on_result(&late, Duration::ZERO), Verdict::Stale);
        assert!(p.start_attempt().is_some());
        assert!(p.start_attempt().is_none(), "one attempt at a time");
    }

    #[test]
    fn since_start_of_this_process_is_short() {
        let ticks = crate::supervisor::start_time(std::process::id()).expect("started");
        let age = since_start(ticks).expect("uptime readable");
        assert!(age < Duration::from_secs(3600), "{age:?}");
    }
}
