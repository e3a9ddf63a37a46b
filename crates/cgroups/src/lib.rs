//! Container isolation: a cgroup per container (v1 or v2) with cpu, memory and pids limits,
//! usage from the cgroup, OOM detection and cleanup; or a posix fallback (plain processes)
//! where cgroups cannot be used.

pub mod bpf_syscall;
mod container;
mod controller;
pub mod cpu;
pub mod device_bpf;
#[cfg(test)]
mod device_bpf_kernel_tests;
pub mod devices;
#[cfg(test)]
mod fake_cgroup;
pub mod memory;
pub mod mounts;
pub mod owners;
pub mod pids;
pub mod usage;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};

pub use container::{Container, ContainerUsage, JoinFiles};
pub use controller::Controller;

/// Tasks asking for less memory than this are refused.
pub const MIN_MEMORY_MB: f64 = 4.0;

/// `--isolation`: cgroups, posix, or (the default) cgroups where usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationMode {
    #[default]
    Auto,
    Cgroups,
    Posix,
}

impl std::str::FromStr for IsolationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(IsolationMode::Auto),
            "cgroups" => Ok(IsolationMode::Cgroups),
            "posix" => Ok(IsolationMode::Posix),
            other => Err(format!(
                "unknown isolation {other:?}: expected cgroups, posix or auto"
            )),
        }
    }
}

impl std::fmt::Display for IsolationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IsolationMode::Auto => "auto",
            IsolationMode::Cgroups => "cgroups",
            IsolationMode::Posix => "posix",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolationConfig {
    pub mode: IsolationMode,
    /// Containers live in `<root>/<agent id>/<container id>` of each hierarchy.
    pub cgroup_root: PathBuf,
    /// The most processes (and threads) one container may have.
    pub pids_limit: u64,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        IsolationConfig {
            mode: IsolationMode::Auto,
            cgroup_root: PathBuf::from("corral"),
            pids_limit: pids::DEFAULT_LIMIT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    #[error("cgroups cannot be used: {0}")]
    Unusable(String),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: unexpected content {text:?}", path.display())]
    Parse { path: PathBuf, text: String },
    #[error("{}: no {key} line", path.display())]
    MissingKey { path: PathBuf, key: String },
    #[error("cgroup {} still has processes after they were killed", path.display())]
    Busy { path: PathBuf },
    #[error("bad device rule {rule:?}: {why}")]
    DeviceRule { rule: String, why: String },
    /// A `bpf(2)` call failed; `log` holds the verifier's log (for a load) or the cgroup.
    #[error("cannot {op}: {source}{}", if log.is_empty() { String::new() } else { format!(" ({log})") })]
    Bpf {
        op: &'static str,
        source: std::io::Error,
        log: String,
    },
}

/// What a container may use. `None` leaves that resource unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub cpus: Option<f64>,
    pub mem_mb: Option<f64>,
    pub pids: u64,
}

impl Limits {
    /// Limits from a task's resources; refuses memory below [`MIN_MEMORY_MB`].
    pub fn for_task(resources: &[corral_api::v1::Resource], pids: u64) -> Result<Limits, String> {
        let has = |name: &str| resources.iter().any(|r| r.name == name);
        let total = corral_api::resources::Resources::from_list(resources);
        let cpus = has("cpus").then(|| total.scalar("cpus"));
        let mem_mb = has("mem").then(|| total.scalar("mem"));
        if let Some(mem) = mem_mb
            && mem < MIN_MEMORY_MB
        {
            return Err(format!(
                "the task asks for {mem} MB of memory, below the minimum of {MIN_MEMORY_MB} MB"
            ));
        }
        Ok(Limits { cpus, mem_mb, pids })
    }
}

/// Where the cgroup hierarchies are.
#[derive(Debug, Clone)]
pub enum Hierarchy {
    V1(v1::V1Mounts),
    V2(PathBuf),
}

/// The agent's isolator, chosen once at start.
#[derive(Debug)]
pub enum Isolator {
    Cgroups { hierarchy: Hierarchy, root: PathBuf },
    Posix { why: String },
}

impl Isolator {
    /// Picks the isolator for `config`: `Cgroups` mode fails where cgroups are unusable,
    /// `Auto` falls back to posix and logs why (once: the agent calls this once).
    pub fn start(config: &IsolationConfig) -> Result<Isolator, IsolationError> {
        if config.mode == IsolationMode::Posix {
            return Ok(Isolator::Posix {
                why: "posix isolation chosen by --isolation".into(),
            });
        }
        match Self::cgroups(&config.cgroup_root) {
            Ok(isolator) => Ok(isolator),
            Err(e) if config.mode == IsolationMode::Auto => {
                tracing::warn!("{e}; tasks run as plain processes without resource limits");
                Ok(Isolator::Posix { why: e.to_string() })
            }
            Err(e) => Err(e),
        }
    }

    fn cgroups(root: &Path) -> Result<Isolator, IsolationError> {
        if root.is_absolute() || root.components().count() == 0 {
            return Err(IsolationError::Unusable(format!(
                "the cgroup root {} must be a relative path",
                root.display()
            )));
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(IsolationError::Unusable("the agent is not root".into()));
        }
        let mounts = read_file(Path::new("/proc/self/mounts"))?;
        let v2_error = match v2::discover(&mounts) {
            Some(mount) => match v2::check_controllers(&mount) {
                Ok(()) => {
                    v2::create_parent(&mount, root)?;
                    return Ok(Isolator::Cgroups {
                        hierarchy: Hierarchy::V2(mount),
                        root: root.to_path_buf(),
                    });
                }
                Err(e) => e,
            },
            None => "no cgroup2 mount".to_string(),
        };
        let mounts = v1::discover(&mounts)
            .map_err(|e| IsolationError::Unusable(format!("{v2_error}; {e}")))?;
        for dir in [&mounts.cpu, &mounts.cpuacct, &mounts.memory, &mounts.pids] {
            make_dir(&dir.join(root))?;
        }
        Ok(Isolator::Cgroups {
            hierarchy: Hierarchy::V1(mounts),
            root: root.to_path_buf(),
        })
    }

    /// How tasks are isolated, for the agent's log.
    pub fn describe(&self) -> String {
        match self {
            Isolator::Cgroups {
                hierarchy: Hierarchy::V1(m),
                root,
            } => format!(
                "cgroups v1 (cpu, memory, pids) under {}",
                m.memory.join(root).display()
            ),
            Isolator::Cgroups {
                hierarchy: Hierarchy::V2(mount),
                root,
            } => format!(
                "cgroups v2 (cpu, memory, pids) under {}",
                mount.join(root).display()
            ),
            Isolator::Posix { why } => format!("posix: no resource limits ({why})"),
        }
    }

    /// Why tasks run without cgroups, for the master to show; `None` when they have them.
    pub fn fallback_note(&self) -> Option<String> {
        match self {
            Isolator::Cgroups { .. } => None,
            Isolator::Posix { why } => Some(format!(
                "posix isolation: tasks run as plain processes without resource limits ({why})"
            )),
        }
    }

    /// Creates the container's cgroup with its limits; `None` under posix isolation.
    pub fn create(
        &self,
        agent: &str,
        container_id: &str,
        limits: &Limits,
    ) -> Result<Option<Container>, IsolationError> {
        match self {
            Isolator::Posix { .. } => Ok(None),
            Isolator::Cgroups { hierarchy, root } => {
                let parent = root.join(path_component(agent));
                if let Hierarchy::V2(mount) = hierarchy {
                    v2::create_parent(mount, &parent)?;
                }
                let relative = parent.join(path_component(container_id));
                Container::create(hierarchy, &relative, limits).map(Some)
            }
        }
    }

    /// The cgroups of a container that an earlier run of this agent created, if they are
    /// still there (after a restart); `None` under posix isolation or when they are gone.
    pub fn adopt(
        &self,
        agent: &str,
        container_id: &str,
        mem_limit_mb: Option<f64>,
    ) -> Option<Container> {
        match self {
            Isolator::Posix { .. } => None,
            Isolator::Cgroups { hierarchy, root } => {
                let relative = root
                    .join(path_component(agent))
                    .join(path_component(container_id));
                Container::adopt(hierarchy, &relative, mem_limit_mb)
            }
        }
    }

    /// A container's cgroup path relative to each hierarchy's mount (where its other
    /// controllers, such as devices, go); `None` under posix isolation.
    pub fn container_relative(&self, agent: &str, container_id: &str) -> Option<PathBuf> {
        match self {
            Isolator::Posix { .. } => None,
            Isolator::Cgroups { root, .. } => Some(
                root.join(path_component(agent))
                    .join(path_component(container_id)),
            ),
        }
    }

    /// The container cgroups left under the agent's parent, in every hierarchy.
    pub fn containers_left(&self, agent: &str) -> Vec<PathBuf> {
        self.mounts()
            .iter()
            .flat_map(|m| std::fs::read_dir(m.join(self.root()).join(path_component(agent))))
            .flat_map(|entries| entries.flatten())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    }

    fn mounts(&self) -> Vec<&Path> {
        match self {
            Isolator::Cgroups {
                hierarchy: Hierarchy::V1(m),
                ..
            } => vec![&m.cpu, &m.cpuacct, &m.memory, &m.pids],
            Isolator::Cgroups {
                hierarchy: Hierarchy::V2(mount),
                ..
            } => vec![mount],
            Isolator::Posix { .. } => Vec::new(),
        }
    }

    fn root(&self) -> &Path {
        match self {
            Isolator::Cgroups { root, .. } => root,
            Isolator::Posix { .. } => Path::new(""),
        }
    }

    /// Removes the hierarchies under the root that agents no longer running left behind
    /// and that hold no process (`owners.rs`), in every hierarchy (the v1 devices one too);
    /// `own` is this agent's name. Nothing under posix isolation.
    pub fn sweep_others(&self, lock_dir: &Path, own: &str) -> owners::Swept {
        let Isolator::Cgroups { root, .. } = self else {
            return owners::Swept::default();
        };
        let devices = devices::v1_mount(&mounts::read());
        let mut all: Vec<&Path> = self.mounts();
        all.extend(devices.as_deref());
        all.sort();
        all.dedup();
        owners::sweep(&all, root, lock_dir, own)
    }

    /// Removes the agent's (empty) parent cgroups and the root if no other agent uses it.
    pub fn release(&self, agent: &str) {
        let Isolator::Cgroups { root, .. } = self else {
            return;
        };
        for mount in self.mounts() {
            // Busy or already gone: another agent or a live container keeps it.
            let _ = std::fs::remove_dir(mount.join(root).join(path_component(agent)));
            let _ = std::fs::remove_dir(mount.join(root));
        }
    }
}

/// A name safe as one path component (ids come from outside).
fn path_component(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => format!("_{safe}"),
        _ => safe,
    }
}

fn read_file(path: &Path) -> Result<String, IsolationError> {
    std::fs::read_to_string(path).map_err(|source| IsolationError::Io {
        op: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` into a file that must exist: the kernel makes a cgroup's files, so a
/// missing one is a controller that is not there (and a test's stand-in must provide it).
fn write_file(path: &Path, value: &str) -> Result<(), IsolationError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut file| file.write_all(value.as_bytes()))
        .map_err(|source| IsolationError::Io {
            op: "cannot write",
            path: path.to_path_buf(),
            source,
        })
}

fn make_dir(path: &Path) -> Result<(), IsolationError> {
    std::fs::create_dir_all(path).map_err(|source| IsolationError::Io {
        op: "cannot create",
        path: path.to_path_buf(),
        source,
    })
}

/// The number a one-value file holds (pids.current, cpuacct.usage, memory.current, ...).
fn number_file(path: &Path) -> Result<u64, IsolationError> {
    let text = read_file(path)?;
    text.trim().parse().map_err(|_| IsolationError::Parse {
        path: path.to_path_buf(),
        text,
    })
}

/// The number after `key` in a "key value" per line file (memory.stat, cpu.stat, ...).
fn stat_value(path: &Path, key: &str) -> Result<u64, IsolationError> {
    let text = read_file(path)?;
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .ok_or_else(|| IsolationError::MissingKey {
            path: path.to_path_buf(),
            key: key.to_string(),
        })?;
    line.trim().parse().map_err(|_| IsolationError::Parse {
        path: path.to_path_buf(),
        text: line.to_string(),
    })
}
