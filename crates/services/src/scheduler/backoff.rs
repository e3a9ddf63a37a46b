//! Launch delays after failures (Marathon's RateLimiter): the first failure of an app's
//! configuration delays its next launch by `backoffSeconds`, each further one multiplies the
//! delay by `backoffFactor`, up to `maxLaunchDelaySeconds`. A new configuration starts
//! afresh, and a delay is forgotten once `maxLaunchDelaySeconds` pass without a failure.

use crate::model::App;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delay {
    /// The configuration the failures were of.
    pub config_version: Timestamp,
    /// The current delay, in ms.
    pub delay_ms: u64,
    /// When the last failure happened, in ms.
    pub since_ms: u64,
    pub max_ms: u64,
}

impl Delay {
    /// After a first failure: `backoffSeconds` (capped at `maxLaunchDelaySeconds`).
    pub fn first(app: &App, now_ms: u64) -> Delay {
        let max_ms = u64::from(app.max_launch_delay_seconds) * 1000;
        Delay {
            config_version: app.config_version(),
            delay_ms: (u64::from(app.backoff_seconds) * 1000).min(max_ms),
            since_ms: now_ms,
            max_ms,
        }
    }

    /// After one more failure: the delay times `backoffFactor`, capped.
    pub fn increased(&self, app: &App, now_ms: u64) -> Delay {
        let max_ms = u64::from(app.max_launch_delay_seconds) * 1000;
        let grown = (self.delay_ms as f64 * app.backoff_factor).round();
        let grown = if grown.is_finite() && grown < max_ms as f64 {
            grown as u64
        } else {
            max_ms
        };
        Delay {
            config_version: app.config_version(),
            delay_ms: grown.min(max_ms),
            since_ms: now_ms,
            max_ms,
        }
    }

    /// Whether this delay is about `app`'s current configuration.
    pub fn applies_to(&self, app: &App) -> bool {
        self.config_version == app.config_version()
    }

    /// When launches may resume.
    pub fn deadline_ms(&self) -> u64 {
        self.since_ms.saturating_add(self.delay_ms)
    }

    /// Whether `app` must wait at `now_ms`.
    pub fn holds(&self, app: &App, now_ms: u64) -> bool {
        self.applies_to(app) && now_ms < self.deadline_ms()
    }

    /// Whether the delay is old enough to forget.
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms > self.since_ms.saturating_add(self.max_ms)
    }
}
