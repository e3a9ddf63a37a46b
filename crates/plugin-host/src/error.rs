//! What can go wrong with a plugin. Every variant names the plugin and, for calls, the
//! export, so an operator reading a log line knows what to fix.

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PluginError {
    #[error("plugin {plugin}: not a valid WebAssembly component: {reason}")]
    Invalid { plugin: String, reason: String },
    #[error(
        "plugin {plugin} was built against {found}, but this host speaks corral:plugin@{expected} \
         (and loads what earlier 0.1.x versions built)"
    )]
    WitVersion {
        plugin: String,
        found: String,
        expected: String,
    },
    #[error("plugin {plugin} is not a plugin of kind {expected} (it exports: {found})")]
    WrongKind {
        plugin: String,
        expected: String,
        found: String,
    },
    #[error("plugin {plugin} cannot be instantiated: {reason}")]
    Instantiate { plugin: String, reason: String },
    #[error("plugin {plugin}: {call} trapped: {message}")]
    Trap {
        plugin: String,
        call: String,
        message: String,
    },
    #[error("plugin {plugin}: {call} exceeded its deadline of {deadline_ms} ms")]
    Timeout {
        plugin: String,
        call: String,
        deadline_ms: u64,
    },
    #[error("plugin {plugin}: {call} exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        plugin: String,
        call: String,
        limit_bytes: usize,
    },
    #[error("plugin {plugin}: {call} failed: {message}")]
    Failed {
        plugin: String,
        call: String,
        message: String,
    },
    #[error("plugin {plugin}: {call} gave an answer the host refuses: {message}")]
    BadAnswer {
        plugin: String,
        call: String,
        message: String,
    },
    #[error("plugin {plugin} is unusable after an earlier failure and must be re-instantiated")]
    Poisoned { plugin: String },
    #[error("no built-in plugin named '{0}'")]
    UnknownBuiltin(String),
    #[error("plugin {plugin} is refused: {reason}")]
    Signature { plugin: String, reason: String },
    #[error("{reason}")]
    Quarantined { reason: String },
    #[error("cannot read plugin file {path}: {reason}")]
    Io { path: String, reason: String },
}

impl PluginError {
    /// Traps, timeouts and memory exhaustion leave the instance in an unknown state: the host
    /// must drop it (and, for allocators, replay state into a fresh one).
    pub fn poisons_instance(&self) -> bool {
        matches!(
            self,
            PluginError::Trap { .. }
                | PluginError::Timeout { .. }
                | PluginError::MemoryLimit { .. }
                | PluginError::Poisoned { .. }
        )
    }
}
