//! The memory controller: a hard limit with no swap beyond it, usage (rss and page cache),
//! and the OOM-kill counter that tells a task killed for exceeding its limit.
//!
//! Files: v1 `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` (where swap is
//! accounted), `memory.usage_in_bytes`, `memory.stat` (`rss`, `cache`), `memory.oom_control`;
//! v2 `memory.max` and `memory.swap.max` (where there is swap), `memory.current`,
//! `memory.stat` (`anon`, `file`), `memory.events`.

use std::path::Path;

use super::controller::Controller;
use super::{IsolationError, Limits, Version, number_file, stat_value, write_file};

const V1_LIMIT: &str = "memory.limit_in_bytes";
const V1_MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";

/// Memory use of a cgroup, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUsage {
    pub rss_bytes: u64,
    pub cache_bytes: u64,
}

/// The limit in bytes for `mem_mb` megabytes (Mesos' `mem` resource).
pub fn limit_bytes(mem_mb: f64) -> u64 {
    (mem_mb * 1024.0 * 1024.0) as u64
}

/// The memory controller.
pub struct Memory;

impl Controller for Memory {
    type Usage = MemoryUsage;

    fn apply(version: Version, dir: &Path, limits: &Limits) -> Result<(), IsolationError> {
        let Some(mem_mb) = limits.mem_mb else {
            return Ok(());
        };
        let bytes = limit_bytes(mem_mb);
        let limit = bytes.to_string();
        match version {
            Version::V1 => {
                let current = std::fs::read_to_string(dir.join(V1_LIMIT))
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok());
                let has_memsw = dir.join(V1_MEMSW_LIMIT).exists();
                for file in v1_limit_files(current, bytes, has_memsw) {
                    write_file(&dir.join(file), &limit)?;
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

    fn usage(version: Version, dir: &Path) -> Result<MemoryUsage, IsolationError> {
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
}

/// The v1 limit files to write, in order. memsw (memory + swap) must never be below the
/// memory limit: raising, memsw goes first; lowering (or setting the first limit), memory.
fn v1_limit_files(current: Option<u64>, limit: u64, has_memsw: bool) -> &'static [&'static str] {
    let raising = current.is_some_and(|c| c < limit);
    match (has_memsw, raising) {
        (false, _) => &[V1_LIMIT],
        (true, true) => &[V1_MEMSW_LIMIT, V1_LIMIT],
        (true, false) => &[V1_LIMIT, V1_MEMSW_LIMIT],
    }
}

/// All the memory the cgroup is charged for (rss, cache and kernel memory), in bytes.
pub fn total_bytes(version: Version, dir: &Path) -> Result<u64, IsolationError> {
    match version {
        Version::V1 => number_file(&dir.join("memory.usage_in_bytes")),
        Version::V2 => number_file(&dir.join("memory.current")),
    }
}

/// How many processes of the cgroup the OOM killer has killed.
pub fn oom_kills(version: Version, dir: &Path) -> Result<u64, IsolationError> {
    match version {
        Version::V1 => stat_value(&dir.join("memory.oom_control"), "oom_kill"),
        Version::V2 => stat_value(&dir.join("memory.events"), "oom_kill"),
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
