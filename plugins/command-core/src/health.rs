//! The task's health check: the command executor's side of the shared policy
//! (plugins/health-policy, the same rules the agent applies to recovered tasks). The grace
//! period counts from the task's launch by this executor's clock.

use corral_sdk::executor::{CheckResult, HealthCheck, RunCheck};
pub use health_policy::Verdict;
use health_policy::{HealthPolicy, Timing};

#[derive(Debug, Clone)]
pub struct TaskHealth {
    check: HealthCheck,
    policy: HealthPolicy,
}

impl TaskHealth {
    pub fn new(check: HealthCheck, launched_ms: u64) -> Self {
        let timing = Timing::from_seconds(
            check.delay_seconds,
            check.interval_seconds,
            check.grace_period_seconds,
            check.consecutive_failures,
        );
        TaskHealth {
            check,
            policy: HealthPolicy::new(timing, launched_ms),
        }
    }

    /// How long after launch the first attempt runs.
    pub fn delay_ms(&self) -> u64 {
        self.policy.delay_ms()
    }

    /// How long after a result the next attempt runs (at least 1 ms).
    pub fn interval_ms(&self) -> u64 {
        self.policy.interval_ms()
    }

    /// The next attempt, or `None` while one is still running.
    pub fn start_attempt(&mut self) -> Option<RunCheck> {
        let id = self.policy.start_attempt()?;
        Some(RunCheck {
            id,
            check: self.check.clone(),
        })
    }

    /// Judges an attempt's result at time `now_ms`.
    pub fn on_result(&mut self, result: &CheckResult, now_ms: u64) -> Verdict {
        self.policy
            .on_result(result.id, result.healthy, &result.message, now_ms)
    }
}
