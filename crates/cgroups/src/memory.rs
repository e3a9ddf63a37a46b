//! The memory controller: a hard limit with no swap beyond it, usage (rss and page cache),
//! and the OOM-kill counter that tells a task killed for exceeding its limit.

use std::path::Path;

use super::{IsolationError, Version, stat_value, write_file};

/// Memory use of a cgroup, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUsage {
    pub rss_bytes: u64,
    pub cache_bytes: u64,
}

pub fn apply(version: Version, dir: &Path, limit_bytes: u64) -> Result<(), IsolationError> {
    let limit = limit_bytes.to_string();
    match version {
        Version::V1 => {
            // memsw (memory + swap) must never be below the memory limit: raising, memsw
            // goes first; lowering (or creating), memory goes first.
            let memory = dir.join("memory.limit_in_bytes");
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            let current = std::fs::read_to_string(&memory)
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok());
            let raising = current.is_some_and(|c| c < limit_bytes);
            if raising && memsw.exists() {
                write_file(&memsw, &limit)?;
                return write_file(&memory, &limit);
            }
            write_file(&memory, &limit)?;
            if memsw.exists() {
                write_file(&memsw, &limit)?;
            }
            Ok(())
        }
        Version::V2 => {
            write_file(&dir.join("memory.max"), &limit)?;
            let swap = dir.join("memory.swap.max");
            if swap.exists() {
                write_file(&swap, "0")?;
            }
            Ok(())
        }
    }
}

pub fn usage(version: Version, dir: &Path) -> Result<MemoryUsage, IsolationError> {
    let stat = dir.join("memory.stat");
    let (rss, cache) = match version {
        Version::V1 => ("rss", "cache"),
        Version::V2 => ("anon", "file"),
    };
    Ok(MemoryUsage {
        rss_bytes: stat_value(&stat, rss)?,
        cache_bytes: stat_value(&stat, cache)?,
    })
}

/// How many processes of the cgroup the OOM killer has killed.
pub fn oom_kills(version: Version, dir: &Path) -> Result<u64, IsolationError> {
    match version {
        Version::V1 => stat_value(&dir.join("memory.oom_control"), "oom_kill"),
        Version::V2 => stat_value(&dir.join("memory.events"), "oom_kill"),
    }
}
