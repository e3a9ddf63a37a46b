//! One task's health under one health check (Marathon's `Health`), and what a check result
//! does to it (Marathon's HealthCheckActor): a failure within `gracePeriodSeconds` of the
//! task's start, before its first success, is ignored; `maxConsecutiveFailures` failures in a
//! row (when above 0) kill the task.

use serde_json::{Value, json};

use crate::model::checks::HealthCheck;
use crate::time::Timestamp;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub first_success: Option<u64>,
    pub last_success: Option<u64>,
    pub last_failure: Option<u64>,
    pub last_failure_cause: Option<String>,
    pub consecutive_failures: u32,
    /// When the next attempt is due (ms); not shown.
    pub next_check_ms: u64,
    /// An attempt is running; not shown.
    pub in_flight: bool,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Healthy,
    Unhealthy(String),
    /// An informational (1xx) answer under `ignoreHttp1xx`: no result.
    Ignored,
}

/// What a result asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing shown changed (or the failure fell in the grace period).
    Quiet,
    /// A failure counted (`failed_health_check_event`).
    Failed,
    /// The task's liveness changed to this (`health_status_changed_event`).
    Changed(bool),
    /// Too many failures in a row: kill the task, with this reason.
    Kill(String),
}

impl Health {
    /// Marathon's `alive`: a success, later than any failure.
    pub fn alive(&self) -> bool {
        self.last_success
            .is_some_and(|success| self.last_failure.is_none_or(|failure| success > failure))
    }

    /// Takes in `outcome` at `now_ms` for a task that started running at `started_ms`.
    pub fn judge(
        &mut self,
        check: &HealthCheck,
        outcome: Outcome,
        started_ms: u64,
        now_ms: u64,
    ) -> Vec<Verdict> {
        let was_alive = self.alive();
        let mut verdicts = Vec::new();
        match outcome {
            Outcome::Ignored => return vec![Verdict::Quiet],
            Outcome::Healthy => {
                self.first_success.get_or_insert(now_ms);
                self.last_success = Some(now_ms);
                self.consecutive_failures = 0;
            }
            Outcome::Unhealthy(cause) => {
                let grace_ms = u64::from(check.grace_period_seconds) * 1000;
                if self.first_success.is_none() && now_ms < started_ms.saturating_add(grace_ms) {
                    return vec![Verdict::Quiet];
                }
                self.last_failure = Some(now_ms);
                self.last_failure_cause = Some(cause.clone());
                self.consecutive_failures += 1;
                verdicts.push(Verdict::Failed);
                let max = check.max_consecutive_failures;
                if max > 0 && self.consecutive_failures >= max {
                    verdicts.push(Verdict::Kill(cause));
                }
            }
        }
        if self.alive() != was_alive {
            verdicts.insert(0, Verdict::Changed(self.alive()));
        }
        if verdicts.is_empty() {
            verdicts.push(Verdict::Quiet);
        }
        verdicts
    }

    /// `healthCheckResults[]` (Marathon's `Health` writer: every key, null when unset).
    pub fn to_json(&self, task_id: &str) -> Value {
        let time = |t: Option<u64>| t.map(|ms| Timestamp(ms).to_string());
        json!({
            "alive": self.alive(),
            "consecutiveFailures": self.consecutive_failures,
            "firstSuccess": time(self.first_success),
            "lastFailure": time(self.last_failure),
            "lastSuccess": time(self.last_success),
            "lastFailureCause": self.last_failure_cause,
            "instanceId": task_id,
        })
    }

    /// The health a Mesos-side check's report gives: `healthy` at `now_ms`.
    pub fn reported(&mut self, healthy: bool, message: Option<&str>, now_ms: u64) {
        if healthy {
            self.first_success.get_or_insert(now_ms);
            self.last_success = Some(now_ms);
            self.consecutive_failures = 0;
        } else {
            self.last_failure = Some(now_ms);
            self.last_failure_cause = Some(
                message
                    .unwrap_or("the Mesos health check failed")
                    .to_string(),
            );
            self.consecutive_failures += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validation::Violations;

    fn check(body: serde_json::Value) -> HealthCheck {
        let mut v = Violations::new();
        crate::parse::checks::health_check(&body, "/healthChecks(0)", &mut v).expect("check")
    }

    #[test]
    fn failures_in_the_grace_period_are_ignored_until_the_first_success() {
        let c = check(
            json!({"protocol": "TCP", "gracePeriodSeconds": 10, "maxConsecutiveFailures": 2}),
        );
        let mut h = Health::default();
        assert_eq!(
            h.judge(&c, Outcome::Unhealthy("no".into()), 0, 5_000),
            [Verdict::Quiet]
        );
        assert_eq!(h.consecutive_failures, 0);
        assert_eq!(
            h.judge(&c, Outcome::Healthy, 0, 6_000),
            [Verdict::Changed(true)]
        );
        // After a success the grace period no longer applies.
        assert_eq!(
            h.judge(&c, Outcome::Unhealthy("refused".into()), 0, 7_000),
            [Verdict::Changed(false), Verdict::Failed]
        );
        assert_eq!(
            h.judge(&c, Outcome::Unhealthy("refused".into()), 0, 8_000),
            [Verdict::Failed, Verdict::Kill("refused".into())]
        );
        assert_eq!(h.consecutive_failures, 2);
    }

    #[test]
    fn zero_failures_allowed_means_never_killed() {
        let c =
            check(json!({"protocol": "TCP", "gracePeriodSeconds": 0, "maxConsecutiveFailures": 0}));
        let mut h = Health::default();
        for n in 0..5 {
            let verdicts = h.judge(&c, Outcome::Unhealthy("x".into()), 0, 1_000 + n);
            assert!(!verdicts.iter().any(|v| matches!(v, Verdict::Kill(_))));
        }
    }

    #[test]
    fn results_are_shown_with_every_key_of_marathons_health() {
        let c = check(json!({"protocol": "HTTP", "gracePeriodSeconds": 0}));
        let mut h = Health::default();
        h.judge(&c, Outcome::Healthy, 0, 1_000);
        let shown = h.to_json("web.1");
        assert_eq!(shown["alive"], true);
        assert_eq!(shown["firstSuccess"], "1970-01-01T00:00:01.000Z");
        assert_eq!(shown["lastFailure"], serde_json::Value::Null);
        assert_eq!(shown["instanceId"], "web.1");
        let mut keys: Vec<&String> = shown.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "alive",
                "consecutiveFailures",
                "firstSuccess",
                "instanceId",
                "lastFailure",
                "lastFailureCause",
                "lastSuccess"
            ]
        );
        assert_eq!(h.judge(&c, Outcome::Ignored, 0, 2_000), [Verdict::Quiet]);
    }
}
