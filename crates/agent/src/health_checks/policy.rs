//! The health check policy the host applies to a recovered task (its executor plugin, which
//! held the policy, died with the old agent): the shared policy (plugins/health-policy), the
//! same rules as the command executor's (Mesos' docs/health-checks.md). Its own tests live
//! with it.
//!
//! After a restart the grace period counts from the task's launch (its supervisor's start
//! time), not from the recovery: the policy's clock here is the time since the launch, so a
//! task launched long ago has no grace left, a task that was healthy and turns bad is killed
//! as before the restart, and one recovered within its grace period keeps what is left of it.

use std::time::Duration;

use corral_plugin_host::executor::{CheckResult, RunCheck};
use corral_plugin_host::health_check::HealthCheck;
pub use health_policy::Verdict;
use health_policy::{HealthPolicy, Timing};

/// The longest delay or interval the agent waits (a year): a larger one would overflow the
/// timer's deadline.
const LONGEST_WAIT: Duration = Duration::from_secs(86_400 * 365);

/// A recovered task's check and the policy that judges its results.
#[derive(Debug, Clone)]
pub struct RecoveredPolicy {
    check: HealthCheck,
    policy: HealthPolicy,
}

impl RecoveredPolicy {
    pub fn new(check: HealthCheck) -> Self {
        let timing = Timing::from_seconds(
            check.delay_seconds,
            check.interval_seconds,
            check.grace_period_seconds,
            check.consecutive_failures,
        );
        // Launched at 0 on the policy's clock: times are since the launch.
        let policy = HealthPolicy::new(timing, 0);
        RecoveredPolicy { check, policy }
    }

    /// How long after the checker starts the first attempt runs.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.policy.delay_ms()).min(LONGEST_WAIT)
    }

    /// How long after a result the next attempt runs (at least 1 ms: never a busy loop).
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.policy.interval_ms()).min(LONGEST_WAIT)
    }

    /// The next attempt, or `None` while one is still running.
    pub fn start_attempt(&mut self) -> Option<RunCheck> {
        let id = self.policy.start_attempt()?;
        Some(RunCheck {
            id,
            check: self.check.clone(),
        })
    }

    /// Judges an attempt's result, `since_launch` after the task was launched.
    pub fn on_result(&mut self, result: &CheckResult, since_launch: Duration) -> Verdict {
        let now_ms = u64::try_from(since_launch.as_millis()).unwrap_or(u64::MAX);
        self.policy
            .on_result(result.id, result.healthy, &result.message, now_ms)
    }
}

/// How long ago a process started, from its start time in clock ticks since boot (as
/// `/proc/PID/stat` gives it); `None` if the uptime cannot be read. The kernel answers
/// /proc/uptime from memory: cheap enough on an async thread.
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

    fn health(failures: u32, grace_s: f64) -> RecoveredPolicy {
        RecoveredPolicy::new(HealthCheck {
            kind: CheckKind::Tcp(1),
            delay_seconds: 0.5,
            interval_seconds: 1e300,
            timeout_seconds: 1.0,
            consecutive_failures: failures,
            grace_period_seconds: grace_s,
        })
    }

    #[test]
    fn the_grace_period_counts_from_the_launch_not_the_recovery() {
        let mut within = health(1, 10.0);
        let check = within.start_attempt().expect("an attempt");
        assert_eq!(check.check.kind, CheckKind::Tcp(1), "the task's own check");
        let failed = CheckResult {
            id: check.id,
            healthy: false,
            message: "refused".into(),
        };
        assert_eq!(
            within.on_result(&failed, Duration::from_secs(5)),
            Verdict::Quiet
        );
        let mut late = health(1, 10.0);
        let id = late.start_attempt().expect("an attempt").id;
        let failed = CheckResult { id, ..failed };
        assert!(matches!(
            late.on_result(&failed, Duration::MAX),
            Verdict::Kill { .. }
        ));
    }

    #[test]
    fn delays_are_capped_so_a_deadline_cannot_overflow() {
        let h = health(1, 0.0);
        assert_eq!(h.delay(), Duration::from_millis(500));
        assert_eq!(h.interval(), LONGEST_WAIT);
    }

    #[test]
    fn since_start_of_this_process_is_short() {
        let ticks = crate::supervisor::start_time(std::process::id()).expect("started");
        let age = since_start(ticks).expect("uptime readable");
        assert!(age < Duration::from_secs(3600), "{age:?}");
    }
}
