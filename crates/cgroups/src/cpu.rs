//! The cpu controller: shares (1024 per cpu) and a CFS quota of `cpus` x the period; and
//! cpu time used, from cpuacct (v1) or cpu.stat (v2).
//!
//! Files: v1 `cpu.shares`, `cpu.cfs_period_us` and `cpu.cfs_quota_us`, time from
//! `cpuacct.usage` (ns) and `cpuacct.stat` (clock ticks); v2 `cpu.weight` and `cpu.max`
//! ("QUOTA PERIOD"), time from `cpu.stat` (`usage_usec`, `user_usec`, `system_usec`).

use std::path::Path;

use super::controller::Controller;
use super::{IsolationError, Limits, Version, number_file, stat_value, write_file};

/// The CFS period: 100 ms, as Mesos uses.
pub const PERIOD_US: u64 = 100_000;
/// The smallest quota the kernel accepts is 1 ms.
const MIN_QUOTA_US: u64 = 1_000;

pub fn shares(cpus: f64) -> u64 {
    ((cpus * 1024.0).round() as u64).max(2)
}

pub fn quota_us(cpus: f64) -> u64 {
    ((cpus * PERIOD_US as f64).round() as u64).max(MIN_QUOTA_US)
}

/// v2's cpu.weight (1..10000) for v1 shares (2..262144), as systemd maps them.
pub fn weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9_999 / 262_142
}

/// The cpu controller; its usage is the cpu time used so far, in nanoseconds.
pub struct Cpu;

impl Controller for Cpu {
    type Usage = u64;

    fn apply(version: Version, dir: &Path, limits: &Limits) -> Result<(), IsolationError> {
        let Some(cpus) = limits.cpus else {
            return Ok(());
        };
        match version {
            Version::V1 => {
                write_file(&dir.join("cpu.shares"), &shares(cpus).to_string())?;
                write_file(&dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write_file(&dir.join("cpu.cfs_quota_us"), &quota_us(cpus).to_string())
            }
            Version::V2 => {
                write_file(&dir.join("cpu.weight"), &weight(shares(cpus)).to_string())?;
                let max = format!("{} {PERIOD_US}", quota_us(cpus));
                write_file(&dir.join("cpu.max"), &max)
            }
        }
    }

    fn usage(version: Version, dir: &Path) -> Result<u64, IsolationError> {
        match version {
            Version::V1 => number_file(&dir.join("cpuacct.usage")),
            Version::V2 => {
                Ok(stat_value(&dir.join("cpu.stat"), "usage_usec")?.saturating_mul(1000))
            }
        }
    }
}

/// CPU time used in user and kernel mode, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    pub user_secs: f64,
    pub system_secs: f64,
}

/// The cgroup's user and system time; v1 counts clock ticks (`ticks_per_second` of them a
/// second), v2 microseconds. `dir` is the cpuacct cgroup on v1.
pub fn times(
    version: Version,
    dir: &Path,
    ticks_per_second: f64,
) -> Result<CpuTimes, IsolationError> {
    let (file, user, system, per_second) = match version {
        Version::V1 => ("cpuacct.stat", "user", "system", ticks_per_second),
        Version::V2 => ("cpu.stat", "user_usec", "system_usec", 1e6),
    };
    let stat = dir.join(file);
    Ok(CpuTimes {
        user_secs: stat_value(&stat, user)? as f64 / per_second,
        system_secs: stat_value(&stat, system)? as f64 / per_second,
    })
}

#[cfg(test)]
#[path = "cpu_tests.rs"]
mod tests;
