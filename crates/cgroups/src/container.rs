//! One container's cgroup(s): created with its limits, joined by the task's processes before
//! they exec, read for usage and OOM kills, and destroyed (processes killed, dirs removed).

use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::controller::Controller;
use super::cpu::Cpu;
use super::memory::{self, Memory, MemoryUsage};
use super::pids::Pids;
use super::{Hierarchy, IsolationError, Limits, Version, read_file};

/// How long destroy keeps killing a container's processes before it gives up.
const DESTROY_ATTEMPTS: u32 = 300;
const DESTROY_PAUSE: Duration = Duration::from_millis(10);

/// Usage of one container, from its cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ContainerUsage {
    pub cpu_time_ns: u64,
    pub memory: MemoryUsage,
    pub pids: u64,
}

#[derive(Debug)]
pub struct Container {
    version: Version,
    /// The cgroup of each controller (all the same directory on v2).
    cpu: PathBuf,
    cpuacct: PathBuf,
    memory: PathBuf,
    pids: PathBuf,
    mem_limit_mb: Option<f64>,
}

/// Open `cgroup.procs` files; a forked child joins by writing "0" (itself) to each.
pub struct JoinFiles(Vec<std::fs::File>);

impl JoinFiles {
    /// Join files from elsewhere (a devices cgroup, or one alone under posix isolation).
    pub fn from_files(files: Vec<std::fs::File>) -> Self {
        JoinFiles(files)
    }

    pub fn push(&mut self, file: std::fs::File) {
        self.0.push(file);
    }

    pub fn fds(&self) -> Vec<RawFd> {
        self.0.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// Moves the calling process into each cgroup whose `cgroup.procs` is open as one of
    /// `fds` ([`JoinFiles::fds`], taken before the fork). Only write(2): async-signal-safe,
    /// for a `pre_exec` closure.
    pub fn join_in_child(fds: &[RawFd]) -> std::io::Result<()> {
        for fd in fds {
            // SAFETY: write(2) of one byte from a static buffer to a descriptor the caller
            // keeps open.
            if unsafe { libc::write(*fd, b"0".as_ptr().cast(), 1) } != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

impl Container {
    pub(super) fn create(
        hierarchy: &Hierarchy,
        relative: &Path,
        limits: &Limits,
    ) -> Result<Container, IsolationError> {
        let container = Self::paths(hierarchy, relative, limits);
        for dir in container.dirs() {
            super::make_dir(dir)?;
        }
        if let Err(e) = container.apply(limits) {
            // Leave nothing behind for a container that never ran.
            let _ = container.destroy();
            return Err(e);
        }
        Ok(container)
    }

    fn paths(hierarchy: &Hierarchy, relative: &Path, limits: &Limits) -> Container {
        match hierarchy {
            Hierarchy::V1(m) => Container {
                version: Version::V1,
                cpu: m.cpu.join(relative),
                cpuacct: m.cpuacct.join(relative),
                memory: m.memory.join(relative),
                pids: m.pids.join(relative),
                mem_limit_mb: limits.mem_mb,
            },
            Hierarchy::V2(mount) => {
                let dir = mount.join(relative);
                Container {
                    version: Version::V2,
                    cpu: dir.clone(),
                    cpuacct: dir.clone(),
                    memory: dir.clone(),
                    pids: dir,
                    mem_limit_mb: limits.mem_mb,
                }
            }
        }
    }

    /// The container's cgroups as an earlier agent process created them (after a restart);
    /// `None` if none of its directories is there.
    pub(super) fn adopt(
        hierarchy: &Hierarchy,
        relative: &Path,
        mem_limit_mb: Option<f64>,
    ) -> Option<Container> {
        let limits = Limits {
            cpus: None,
            mem_mb: mem_limit_mb,
            pids: 0,
        };
        let container = Self::paths(hierarchy, relative, &limits);
        container
            .dirs()
            .iter()
            .any(|d| d.is_dir())
            .then_some(container)
    }

    fn apply(&self, limits: &Limits) -> Result<(), IsolationError> {
        Cpu::apply(self.version, &self.cpu, limits)?;
        Memory::apply(self.version, &self.memory, limits)?;
        Pids::apply(self.version, &self.pids, limits)
    }

    /// New cpu and memory limits for a running container (an HTTP executor's, as its tasks
    /// come and go); its pids limit stays. Memory below what the container uses is refused
    /// by the kernel.
    pub fn resize(&mut self, limits: &Limits) -> Result<(), IsolationError> {
        Cpu::apply(self.version, &self.cpu, limits)?;
        Memory::apply(self.version, &self.memory, limits)?;
        if limits.mem_mb.is_some() {
            self.mem_limit_mb = limits.mem_mb;
        }
        Ok(())
    }

    /// The distinct cgroup directories (co-mounted v1 controllers share one).
    fn dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = Vec::new();
        for dir in [&self.cpu, &self.cpuacct, &self.memory, &self.pids] {
            if !dirs.contains(&dir.as_path()) {
                dirs.push(dir);
            }
        }
        dirs
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The memory cgroup, where tests and operators look for the limit.
    pub fn memory_dir(&self) -> &Path {
        &self.memory
    }

    pub fn cpuacct_dir(&self) -> &Path {
        &self.cpuacct
    }

    pub fn pids_dir(&self) -> &Path {
        &self.pids
    }

    pub fn mem_limit_mb(&self) -> Option<f64> {
        self.mem_limit_mb
    }

    /// Opens the `cgroup.procs` files a new process writes itself into before it execs.
    pub fn join_files(&self) -> Result<JoinFiles, IsolationError> {
        self.dirs()
            .into_iter()
            .map(|dir| {
                let path = dir.join("cgroup.procs");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|source| IsolationError::Io {
                        op: "cannot open",
                        path,
                        source,
                    })
            })
            .collect::<Result<_, _>>()
            .map(JoinFiles)
    }

    pub fn usage(&self) -> Result<ContainerUsage, IsolationError> {
        Ok(ContainerUsage {
            cpu_time_ns: Cpu::usage(self.version, &self.cpuacct)?,
            memory: Memory::usage(self.version, &self.memory)?,
            pids: Pids::usage(self.version, &self.pids)?,
        })
    }

    /// Whether the OOM killer has killed any of the container's processes.
    pub fn oom_killed(&self) -> bool {
        match memory::oom_kills(self.version, &self.memory) {
            Ok(kills) => kills > 0,
            Err(e) => {
                tracing::warn!("cannot tell whether a container hit its memory limit: {e}");
                false
            }
        }
    }

    /// The pids of the container's processes (in any of its cgroups).
    pub fn processes(&self) -> Vec<i32> {
        let mut all = Vec::new();
        for dir in self.dirs() {
            let Ok(text) = read_file(&dir.join("cgroup.procs")) else {
                continue;
            };
            for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                if !all.contains(&pid) {
                    all.push(pid);
                }
            }
        }
        all
    }

    /// Kills every process left in the container and removes its cgroups. Blocks (up to a
    /// few seconds while processes die); call it off the async threads.
    pub fn destroy(&self) -> Result<(), IsolationError> {
        let kill_file = self.pids.join("cgroup.kill");
        for _ in 0..DESTROY_ATTEMPTS {
            let left = self.processes();
            if left.is_empty() && self.remove_dirs().is_ok() {
                return Ok(());
            }
            if self.version == Version::V2 && kill_file.exists() {
                let _ = std::fs::write(&kill_file, "1");
            }
            for pid in left {
                if pid > 1 {
                    // SAFETY: kill has no memory-safety preconditions; pid is a process of
                    // this container (never 0, 1 or a negative group).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            std::thread::sleep(DESTROY_PAUSE);
        }
        self.remove_dirs()
    }

    fn remove_dirs(&self) -> Result<(), IsolationError> {
        for dir in self.dirs() {
            match std::fs::remove_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) if !self.processes().is_empty() => {
                    return Err(IsolationError::Busy {
                        path: dir.to_path_buf(),
                    });
                }
                Err(source) => {
                    return Err(IsolationError::Io {
                        op: "cannot remove",
                        path: dir.to_path_buf(),
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
