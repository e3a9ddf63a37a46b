//! A container's resource statistics as Mesos' `ResourceStatistics` names them: cpu time
//! (user and system), memory (rss, cache) and processes, read from its cgroups (v1:
//! cpuacct.stat, memory.stat, pids.current; v2: cpu.stat, memory.stat, pids.current). Under
//! the posix fallback they are summed, best effort, over the processes whose environment
//! names the container (MESOS_CONTAINER_ID), from /proc.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::controller::Controller;
use super::memory::Memory;
use super::{Hierarchy, Isolator, Version, cpu, memory, path_component, pids};

/// Mesos' `ResourceStatistics` (include/mesos/v1/mesos.proto), the fields Corral fills.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceStatistics {
    /// Seconds since the Unix epoch when the sample was taken.
    pub timestamp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_user_time_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_system_time_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_limit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_rss_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_cache_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_limit_bytes: Option<u64>,
    /// The sandbox's `disk` and its usage at the last measurement (the agent's disk watch,
    /// Mesos' `disk/du`); absent for a task without `disk`, and the usage before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_limit_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_used_bytes: Option<u64>,
}

/// Clock ticks per second of /proc and cpuacct.stat times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Isolator {
    /// Usage of the container `container_id` of `agent`; limits are the caller's (from the
    /// task's resources). Fields that cannot be read are left out, never guessed.
    pub fn statistics(&self, agent: &str, container_id: &str) -> ResourceStatistics {
        let mut stats = match self {
            Isolator::Cgroups { hierarchy, root } => {
                let relative = root
                    .join(path_component(agent))
                    .join(path_component(container_id));
                cgroup_statistics(hierarchy, &relative)
            }
            Isolator::Posix { .. } => proc_statistics(Path::new("/proc"), container_id),
        };
        stats.timestamp = now_secs();
        stats
    }
}

fn cgroup_statistics(hierarchy: &Hierarchy, relative: &Path) -> ResourceStatistics {
    let (version, cpuacct, mem, pid) = match hierarchy {
        Hierarchy::V1(m) => (
            Version::V1,
            m.cpuacct.join(relative),
            m.memory.join(relative),
            m.pids.join(relative),
        ),
        Hierarchy::V2(mount) => {
            let dir = mount.join(relative);
            (Version::V2, dir.clone(), dir.clone(), dir)
        }
    };
    let times = cpu::times(version, &cpuacct, ticks_per_second()).ok();
    let memory_usage = Memory::usage(version, &mem).ok();
    let total = memory::total_bytes(version, &mem).ok();
    ResourceStatistics {
        processes: pids::current(&pid).ok().map(|n| n as u32),
        cpus_user_time_secs: times.map(|t| t.user_secs),
        cpus_system_time_secs: times.map(|t| t.system_secs),
        mem_total_bytes: total,
        mem_rss_bytes: memory_usage.map(|m| m.rss_bytes),
        mem_cache_bytes: memory_usage.map(|m| m.cache_bytes),
        ..Default::default()
    }
}

/// Sums /proc/<pid>/stat times and rss over the processes of the container.
pub fn proc_statistics(proc_root: &Path, container_id: &str) -> ResourceStatistics {
    let marker = format!("MESOS_CONTAINER_ID={container_id}");
    let ticks = ticks_per_second();
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    let (mut count, mut user, mut system, mut rss) = (0u32, 0u64, 0u64, 0u64);
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return ResourceStatistics::default();
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.parse::<u32>().is_ok());
        if !is_pid {
            continue;
        }
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // After "pid (comm) ": state is field 0, utime 11, stime 12, rss 21.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<u64> = rest
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        if fields.len() > 21 {
            count += 1;
            user += fields[11];
            system += fields[12];
            rss += fields[21] * page;
        }
    }
    ResourceStatistics {
        processes: Some(count),
        cpus_user_time_secs: Some(user as f64 / ticks),
        cpus_system_time_secs: Some(system as f64 / ticks),
        mem_rss_bytes: Some(rss),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_v1(root: &Path) -> Hierarchy {
        let m = super::super::v1::V1Mounts {
            cpu: root.join("cpu"),
            cpuacct: root.join("cpuacct"),
            memory: root.join("memory"),
            pids: root.join("pids"),
        };
        Hierarchy::V1(m)
    }

    #[test]
    fn reads_v1_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let rel = Path::new("corral/a/c1");
        for (ctl, file, text) in [
            ("cpuacct", "cpuacct.stat", "user 250\nsystem 50\n"),
            ("memory", "memory.stat", "cache 4096\nrss 8192\n"),
            ("memory", "memory.usage_in_bytes", "12288\n"),
            ("pids", "pids.current", "3\n"),
        ] {
            let d = dir.path().join(ctl).join(rel);
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(d.join(file), text).expect("write");
        }
        let stats = cgroup_statistics(&fake_v1(dir.path()), rel);
        let ticks = ticks_per_second();
        assert_eq!(stats.cpus_user_time_secs, Some(250.0 / ticks));
        assert_eq!(stats.cpus_system_time_secs, Some(50.0 / ticks));
        assert_eq!(stats.mem_rss_bytes, Some(8192));
        assert_eq!(stats.mem_cache_bytes, Some(4096));
        assert_eq!(stats.mem_total_bytes, Some(12288));
        assert_eq!(stats.processes, Some(3));
    }

    #[test]
    fn reads_v2_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let rel = Path::new("corral/a/c1");
        let d = dir.path().join(rel);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(
            d.join("cpu.stat"),
            "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n",
        )
        .expect("write");
        std::fs::write(d.join("memory.stat"), "anon 1024\nfile 2048\n").expect("write");
        std::fs::write(d.join("memory.current"), "4096\n").expect("write");
        std::fs::write(d.join("pids.current"), "2\n").expect("write");
        let stats = cgroup_statistics(&Hierarchy::V2(dir.path().to_path_buf()), rel);
        assert_eq!(stats.cpus_user_time_secs, Some(2.0));
        assert_eq!(stats.cpus_system_time_secs, Some(1.0));
        assert_eq!(stats.mem_rss_bytes, Some(1024));
        assert_eq!(stats.mem_cache_bytes, Some(2048));
        assert_eq!(stats.mem_total_bytes, Some(4096));
        assert_eq!(stats.processes, Some(2));
    }

    #[test]
    fn missing_cgroup_leaves_fields_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stats = cgroup_statistics(&fake_v1(dir.path()), Path::new("gone"));
        assert_eq!(stats.cpus_user_time_secs, None);
        assert_eq!(stats.mem_rss_bytes, None);
        assert_eq!(stats.processes, None);
    }
}
