//! A COMMAND health check of a task that has namespaces of its own (a root task, see
//! `task_namespaces.rs`) runs inside them, as Mesos runs a check in its task's container: in
//! the task's PID and mount namespaces, with the capabilities the task lost dropped, so a
//! check can do no more than the task itself (see the agent, write the cgroup filesystem).
//!
//! The agent opens the namespaces of the task's init before it forks the check (reading
//! `/proc` blocks: off the async threads); the forked child enters them in `pre_exec`, with
//! async-signal-safe calls only, then forks once more, because entering a PID namespace
//! places the caller's children in it, not the caller.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::task_capabilities;

/// A task's PID and mount namespaces, opened, and where the check runs in them.
pub struct NamespaceEntry {
    pid: OwnedFd,
    mnt: OwnedFd,
    /// The sandbox: entering a mount namespace moves the caller to its root.
    cwd: CString,
}

impl NamespaceEntry {
    /// The namespaces of the task whose process group `pgid` leads (its init, for a task with
    /// namespaces of its own); `None` when that process shares the agent's PID namespace.
    /// Blocking (reads `/proc`).
    pub fn of_task(pgid: u32, cwd: &Path) -> std::io::Result<Option<NamespaceEntry>> {
        let own = std::fs::metadata("/proc/self/ns/pid")?.ino();
        // Opened first, then compared: the descriptor is what gets entered.
        let pid = std::fs::File::open(format!("/proc/{pgid}/ns/pid"))?;
        if pid.metadata()?.ino() == own {
            return Ok(None);
        }
        let mnt = std::fs::File::open(format!("/proc/{pgid}/ns/mnt"))?;
        let cwd = CString::new(cwd.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::other("the sandbox path holds a NUL byte"))?;
        Ok(Some(NamespaceEntry {
            pid: pid.into(),
            mnt: mnt.into(),
            cwd,
        }))
    }

    /// Enters the mount namespace (back into the sandbox) and the PID namespace (for the
    /// children to come), and drops the capabilities the task lost. Async-signal-safe: for a
    /// `pre_exec` closure, before [`continue_in_pid_namespace`].
    pub fn enter(&self) -> std::io::Result<()> {
        // SAFETY: setns and chdir on descriptors and a string this value owns.
        unsafe {
            if libc::setns(self.mnt.as_raw_fd(), libc::CLONE_NEWNS) != 0
                || libc::setns(self.pid.as_raw_fd(), libc::CLONE_NEWPID) != 0
                || libc::chdir(self.cwd.as_ptr()) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        task_capabilities::drop_for_task().map_err(task_capabilities::CapabilityError::into_io)
    }
}

/// Forks so that the caller goes on (to exec) as a process of the PID namespace it entered.
/// The parent stays outside as the process the agent started: it waits for the child and
/// exits as it did (a signal as 128 + its number); a kill of the process group reaches
/// both. Async-signal-safe: returns in the child only.
pub fn continue_in_pid_namespace() -> std::io::Result<()> {
    // SAFETY: called in a single-threaded child before exec; the parent branch makes only
    // async-signal-safe calls and _exits.
    unsafe {
        let child = libc::fork();
        if child < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if child == 0 {
            return Ok(());
        }
        // Let go of every descriptor but stdio: the pipe on which the agent waits for the
        // exec is among them, and the agent would wait until the check ended.
        libc::syscall(libc::SYS_close_range, 3_u32, libc::c_uint::MAX, 0_u32);
        let mut status = 0;
        while libc::waitpid(child, &mut status, 0) < 0 {
            if *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        let code = if libc::WIFSIGNALED(status) {
            128 + libc::WTERMSIG(status)
        } else {
            libc::WEXITSTATUS(status)
        };
        libc::_exit(code)
    }
}
