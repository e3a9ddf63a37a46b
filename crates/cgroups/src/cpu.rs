//! The cpu controller: shares (1024 per cpu) and a CFS quota of `cpus` x the period; and
//! cpu time used, from cpuacct (v1) or cpu.stat (v2).

use std::path::Path;

use super::{IsolationError, Version, read_file, stat_value, write_file};

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

pub fn apply(version: Version, dir: &Path, cpus: f64) -> Result<(), IsolationError> {
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

/// CPU time used by the cgroup so far, in nanoseconds. `dir` is the cpuacct cgroup on v1.
pub fn usage_ns(version: Version, dir: &Path) -> Result<u64, IsolationError> {
    match version {
        Version::V1 => {
            let path = dir.join("cpuacct.usage");
            let text = read_file(&path)?;
            text.trim()
                .parse()
                .map_err(|_| IsolationError::Parse { path, text })
        }
        Version::V2 => Ok(stat_value(&dir.join("cpu.stat"), "usage_usec")?.saturating_mul(1000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_cpus() {
        assert_eq!(shares(0.5), 512);
        assert_eq!(shares(2.0), 2048);
        assert_eq!(shares(0.0001), 2);
        assert_eq!(quota_us(0.5), 50_000);
        assert_eq!(quota_us(0.001), 1_000);
        assert_eq!(weight(1024), 39);
        assert_eq!(weight(2), 1);
        assert_eq!(weight(262_144), 10_000);
    }
}
