//! Which agent owns which hierarchy under the cgroup root, so that an agent can remove the
//! hierarchies that agents which are no longer running left behind (`<root>/<agent id>` in
//! every controller after a crash), and never one of an agent that runs: an agent with no
//! task has an empty hierarchy, and several agents share a machine (and a root).
//!
//! Each agent holds an exclusive `flock` on `<lock dir>/<agent id>` for as long as it runs
//! (the kernel drops it when the process dies, however it dies). The sweep takes the same
//! lock without waiting: it gets it only for agents that are not running, holds it while it
//! removes their hierarchies, and removes the lock file before letting go. A claim retries
//! while a sweep holds the lock, and checks, once it holds it, that the file is still the one
//! at the path (the sweep may have removed it meanwhile).
//!
//! Every call here blocks (files, cgroup removal): call it off the async threads.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the agents' lock files live: one directory per machine (under `/run`, which the
/// system empties at boot, as it does with the locks).
pub const LOCK_DIR: &str = "/run/corral/agents";

/// The name shared by agents before the master gives them an id; never swept (its empty
/// directory is removed by the agents that used it when they stop).
pub const UNREGISTERED: &str = "unregistered";

/// An agent's hold on its id; dropping it lets go (as the process's end does).
#[derive(Debug)]
pub struct OwnerLock {
    path: PathBuf,
    _file: File,
}

impl OwnerLock {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lets go and removes the lock file (a clean stop: the hierarchy is gone too).
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How long a claim waits for a sweep to let go: a sweep holds a lock for as long as a few
/// rmdirs take. A lock still held after that belongs to a process that runs under the same
/// id (it is not waited for forever).
const CLAIM_TRIES: u32 = 25;
const CLAIM_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Claims `agent`'s lock in `lock_dir`, waiting a little while a sweep holds it.
pub fn claim(lock_dir: &Path, agent: &str) -> std::io::Result<OwnerLock> {
    for _ in 0..CLAIM_TRIES {
        if let Some(lock) = try_claim(lock_dir, agent)? {
            // The sweep removes the file while it holds the lock: a lock on a removed file
            // guards nothing.
            let same = std::fs::metadata(&lock.path)
                .ok()
                .is_some_and(|m| lock._file.metadata().is_ok_and(|f| f.ino() == m.ino()));
            if same {
                return Ok(lock);
            }
            continue;
        }
        std::thread::sleep(CLAIM_PAUSE);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::WouldBlock,
        "another process holds it",
    ))
}

/// Takes `agent`'s lock if no process holds it; `None` while its agent runs.
fn try_claim(lock_dir: &Path, agent: &str) -> std::io::Result<Option<OwnerLock>> {
    std::fs::create_dir_all(lock_dir)?;
    let path = lock_dir.join(super::path_component(agent));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => Ok(Some(OwnerLock { path, _file: file })),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
        Err(e) => Err(e),
    }
}

fn flock(file: &File, operation: i32) -> std::io::Result<()> {
    loop {
        // SAFETY: flock(2) on a descriptor this process owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// What a sweep did with the hierarchies of other agents.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Removed: their agent was not running and nothing ran in them.
    pub removed: Vec<PathBuf>,
    /// Left: their agent is not running, but processes are in them or below.
    pub busy: Vec<PathBuf>,
}

/// Removes `<mount>/<root>/<agent>` in each of `mounts` for every agent but `own` (and
/// [`UNREGISTERED`]) whose lock nobody holds and whose hierarchy holds no process in it or
/// below.
pub fn sweep(mounts: &[&Path], root: &Path, lock_dir: &Path, own: &str) -> Swept {
    let mut agents: Vec<String> = mounts
        .iter()
        .flat_map(|m| std::fs::read_dir(m.join(root)))
        .flat_map(|entries| entries.flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name != UNREGISTERED && *name != super::path_component(own))
        .collect();
    agents.sort();
    agents.dedup();
    let mut swept = Swept::default();
    for agent in agents {
        let lock = match try_claim(lock_dir, &agent) {
            Ok(Some(lock)) => lock,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("cannot check whether agent {agent} runs: {e}; its cgroups stay");
                continue;
            }
        };
        let dirs: Vec<PathBuf> = mounts
            .iter()
            .map(|m| m.join(root).join(&agent))
            .filter(|d| d.is_dir())
            .collect();
        if dirs.iter().any(|d| holds_processes(d)) {
            swept.busy.extend(dirs);
            drop(lock);
            continue;
        }
        for dir in dirs {
            match remove_tree(&dir) {
                Ok(()) => swept.removed.push(dir),
                Err(e) => {
                    tracing::warn!("cannot remove {}: {e}", dir.display());
                    swept.busy.push(dir);
                }
            }
        }
        lock.remove();
    }
    swept
}

/// Whether a process is in the cgroup `dir` or any cgroup below it.
fn holds_processes(dir: &Path) -> bool {
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    if !procs.trim().is_empty() {
        return true;
    }
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .any(|e| holds_processes(&e.path()))
}

/// Removes an empty cgroup tree, deepest first (a cgroup directory goes with rmdir alone:
/// its files are the kernel's).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

#[cfg(test)]
#[path = "owners_tests.rs"]
mod tests;
