//! The pids controller: a cap on the processes and threads of a container.

use std::path::Path;

use super::{IsolationError, read_file, write_file};

/// The pids limit when the agent is not told one.
pub const DEFAULT_LIMIT: u64 = 1024;

pub fn apply(dir: &Path, limit: u64) -> Result<(), IsolationError> {
    write_file(&dir.join("pids.max"), &limit.to_string())
}

pub fn current(dir: &Path) -> Result<u64, IsolationError> {
    let path = dir.join("pids.current");
    let text = read_file(&path)?;
    text.trim()
        .parse()
        .map_err(|_| IsolationError::Parse { path, text })
}
