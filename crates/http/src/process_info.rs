//! What a server process knows about itself and every server in it shares: the flags it was
//! started with (secrets already left out) and the control of its log level. The binary
//! fills these in once at start; the operator calls GET_FLAGS, GET_LOGGING_LEVEL and
//! SET_LOGGING_LEVEL (`process_calls.rs`) read them. Process-wide because both are: one
//! process has one command line and one log filter, even with a master and an agent in it.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Changes the process' log filter at run time (a tracing-subscriber reload layer in the
/// binary).
pub trait LogControl: Send + Sync {
    /// Installs Mesos' verbosity `level`: 0 is the filter the process started with; higher
    /// levels log more.
    fn set_level(&self, level: u32) -> Result<(), String>;
    /// The verbosity level in force.
    fn level(&self) -> u32;
}

static STARTED: OnceLock<Instant> = OnceLock::new();
static FLAGS: OnceLock<Vec<(String, String)>> = OnceLock::new();
static LOG_CONTROL: OnceLock<Arc<dyn LogControl>> = OnceLock::new();

/// Records the process' flags (name, value) for GET_FLAGS. Only the first call counts.
pub fn set_flags(flags: Vec<(String, String)>) {
    let _ = FLAGS.set(flags);
}

/// The flags recorded at start; empty when the process recorded none (tests, benchmarks).
pub fn flags() -> &'static [(String, String)] {
    FLAGS.get().map(Vec::as_slice).unwrap_or_default()
}

/// Installs the log level control. Only the first call counts.
pub fn set_log_control(control: Arc<dyn LogControl>) {
    let _ = LOG_CONTROL.set(control);
}

pub fn log_control() -> Option<Arc<dyn LogControl>> {
    LOG_CONTROL.get().cloned()
}

/// Whether a flag's value must not be shown: keys, tokens, passwords and credentials.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "token",
        "credential",
        "private",
        "key",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// Marks the process' start (the binary calls it first thing); later calls change nothing.
pub fn mark_started() {
    let _ = STARTED.get_or_init(Instant::now);
}

/// Seconds since [`mark_started`] (or since the first call, when it was never called).
pub fn uptime_secs() -> f64 {
    STARTED.get_or_init(Instant::now).elapsed().as_secs_f64()
}
