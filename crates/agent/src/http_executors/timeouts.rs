//! Mesos' executor timeouts and the reasons a task fails with when one runs out.

use std::time::Duration;

/// Mesos' `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`.
pub const REASON_REREGISTRATION_TIMEOUT: &str = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT";
/// Mesos' `REASON_EXECUTOR_REGISTRATION_TIMEOUT`.
pub const REASON_REGISTRATION_TIMEOUT: &str = "REASON_EXECUTOR_REGISTRATION_TIMEOUT";
/// Mesos' `--executor_shutdown_grace_period` default: SHUTDOWN, then this long, then SIGKILL.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
