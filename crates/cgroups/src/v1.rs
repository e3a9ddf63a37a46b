//! cgroup v1: one hierarchy per controller, found in /proc/self/mounts. Controllers may be
//! co-mounted (e.g. "cpu,cpuacct"); then two of the paths are the same directory.

use std::path::PathBuf;

/// Where each controller Corral uses is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mounts {
    pub cpu: PathBuf,
    pub cpuacct: PathBuf,
    pub memory: PathBuf,
    pub pids: PathBuf,
}

/// Finds the v1 mounts of cpu, cpuacct, memory and pids in `/proc/self/mounts` text; the
/// error names the controllers that are not mounted.
pub fn discover(mounts: &str) -> Result<V1Mounts, String> {
    let find = |controller: &str| super::mounts::cgroup_v1(mounts, controller);
    let (cpu, cpuacct, memory, pids) = (find("cpu"), find("cpuacct"), find("memory"), find("pids"));
    match (cpu, cpuacct, memory, pids) {
        (Some(cpu), Some(cpuacct), Some(memory), Some(pids)) => Ok(V1Mounts {
            cpu,
            cpuacct,
            memory,
            pids,
        }),
        (cpu, cpuacct, memory, pids) => {
            let missing: Vec<&str> = [
                ("cpu", cpu.is_none()),
                ("cpuacct", cpuacct.is_none()),
                ("memory", memory.is_none()),
                ("pids", pids.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, gone)| gone.then_some(name))
            .collect();
            Err(format!(
                "cgroup v1 controllers not mounted: {}",
                missing.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_separate_and_comounted_controllers() {
        let text = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n\
                    cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n\
                    cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n\
                    cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
        let mounts = discover(text).expect("all mounted");
        assert_eq!(mounts.cpu, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(mounts.cpuacct, mounts.cpu);
        assert_eq!(mounts.memory, PathBuf::from("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn names_missing_controllers() {
        let text = "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n";
        let err = discover(text).expect_err("incomplete");
        assert!(err.contains("cpuacct, memory, pids"), "{err}");
    }
}
