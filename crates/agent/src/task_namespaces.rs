//! A task that runs as root gets its own PID and mount namespaces (Mesos' `namespaces/pid`
//! and `filesystem/linux` isolators, on by default here): it cannot see or signal the agent
//! or any process outside its task, nor write the cgroup filesystem (its limits), `/sys` or
//! `/proc/sys`, and it loses the capabilities that would undo that (mounting, `setns`,
//! ptrace) or reach the kernel directly (modules, raw I/O, reboot, the clock).
//!
//! The supervisor enters a new PID namespace ([`enter_pid_namespace`]: it applies to the
//! supervisor's children only) and forks the init, pid 1 there ([`start_init`]): it makes
//! its mount namespace, mounts a `/proc` of its own, drops the capabilities, starts the
//! command and reaps every process until the command ends. Its exit takes the whole
//! namespace down, so nothing the task started outlives it.
//!
//! The init tells the supervisor, one line each on the outcome pipe: `ok` or `err <why>`
//! once the command started or could not, then the command's [`ExitOutcome`] as JSON.
//! Signals: the agent signals the task's process group, which holds the init and the command;
//! pid 1 ignores every signal it has no handler for except SIGKILL, so the command gets
//! SIGTERM and the init waits for it, and SIGKILL ends the init and with it the namespace.

use std::ffi::{CString, OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use super::processes::ExitOutcome;

// ---------------------------------------------------------------- the supervisor's side

/// Puts this process's future children in a new PID namespace. Fails where the platform
/// does not allow it (no CAP_SYS_ADMIN, e.g. in an unprivileged container).
pub fn enter_pid_namespace() -> std::io::Result<()> {
    // SAFETY: unshare has no memory-safety preconditions.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The init forked by [`start_init`]: its pid, and the pipe it reports on.
pub struct Init {
    pid: libc::pid_t,
    outcome: BufReader<std::fs::File>,
}

/// Forks the namespace's init (pid 1 of the namespace entered before), the leader of a
/// new process group, to run `program` (argv[0] `argv0`, then `args`). A fork, not an
/// exec of this binary: the init costs the task's memory cgroup almost nothing. The child
/// runs Rust code, so the caller's other threads (`corral supervise` has only its log
/// copiers, idle on their pipes) must hold no lock the child could need.
/// `close` are descriptors the init must not hold (the agent's status pipe); `stdio`, when
/// given, become its (and so the command's) stdout and stderr.
pub fn start_init(
    program: &OsStr,
    argv0: Option<&OsStr>,
    args: &[OsString],
    close: &[RawFd],
    stdio: [Option<OwnedFd>; 2],
) -> std::io::Result<Init> {
    let (read_end, write_end) = super::log_rotation::pipe()?;
    // SAFETY: the supervisor's only other threads wait on their pipes holding no lock, so
    // the child may allocate and run Rust code; it never returns from the block below (it
    // _exits).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        drop(read_end);
        // SAFETY: plain system calls on this process and descriptors it owns.
        unsafe {
            libc::setpgid(0, 0);
            for fd in close {
                libc::close(*fd);
            }
            for (fd, target) in stdio.iter().zip([libc::STDOUT_FILENO, libc::STDERR_FILENO]) {
                if let Some(fd) = fd {
                    libc::dup2(fd.as_raw_fd(), target);
                }
            }
        }
        drop(stdio);
        let code = run_init(std::fs::File::from(write_end), program, argv0, args);
        // SAFETY: _exit ends the child without running the supervisor's exit handlers.
        unsafe { libc::_exit(code) };
    }
    // Also here: whichever runs first, the group exists before anyone signals it.
    // SAFETY: setpgid on our own child.
    unsafe { libc::setpgid(pid, pid) };
    drop(write_end);
    drop(stdio);
    Ok(Init {
        pid,
        outcome: BufReader::new(std::fs::File::from(read_end)),
    })
}

impl Init {
    /// The init's pid in the supervisor's namespace (its process group's id).
    pub fn pid(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// Waits until the init says whether the command started.
    pub fn started(&mut self) -> Result<(), String> {
        let mut line = String::new();
        let _ = self.outcome.read_line(&mut line);
        let line = line.trim_end();
        if line == "ok" {
            return Ok(());
        }
        Err(line.strip_prefix("err ").map_or_else(
            || "the task's namespace init ended before the command started".to_string(),
            str::to_string,
        ))
    }

    /// Waits for the init; how the command ended, as the init saw it, else (the init
    /// ended without saying, e.g. killed) how the init itself ended.
    pub fn wait(mut self) -> ExitOutcome {
        let ended = wait_for(self.pid);
        let mut line = String::new();
        let _ = self.outcome.read_line(&mut line);
        serde_json::from_str(line.trim_end()).unwrap_or(ended)
    }
}

// --------------------------------------------------------------------- the init's side

/// The init's body: confines this process (pid 1 of its namespace), runs the command,
/// reaps every process until the command ends, and reports on `outcome`. Returns the
/// init's exit code (0 once the outcome is reported).
fn run_init(
    mut outcome: std::fs::File,
    program: &OsStr,
    argv0: Option<&OsStr>,
    args: &[OsString],
) -> i32 {
    let mut command = std::process::Command::new(program);
    if let Some(argv0) = argv0 {
        command.arg0(argv0);
    }
    command.args(args);
    let started = confine().and_then(|()| {
        command
            .spawn()
            .map_err(|e| format!("cannot start {program:?}: {e}"))
    });
    let child = match started {
        Ok(child) => child,
        Err(why) => {
            let _ = writeln!(outcome, "err {why}");
            eprintln!("corral supervise: {why}");
            return 127;
        }
    };
    let _ = writeln!(outcome, "ok");
    let ended = reap_until(child.id());
    let _ = writeln!(
        outcome,
        "{}",
        serde_json::to_string(&ended).unwrap_or_default()
    );
    0
}

/// Waits for the child `pid`; how it ended.
fn wait_for(pid: libc::pid_t) -> ExitOutcome {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
        if reaped == pid {
            return outcome_of_status(status);
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return ExitOutcome {
                code: None,
                signal: None,
            };
        }
    }
}

fn outcome_of_status(status: libc::c_int) -> ExitOutcome {
    ExitOutcome {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
    }
}

/// Reaps every child (orphans of the task land on pid 1) until `pid` ends; its outcome.
fn reap_until(pid: u32) -> ExitOutcome {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let reaped = unsafe { libc::waitpid(-1, &mut status, 0) };
        if reaped < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("corral supervise: cannot wait for the command: {error}");
            return ExitOutcome {
                code: None,
                signal: None,
            };
        }
        if u32::try_from(reaped).is_ok_and(|reaped| reaped == pid) {
            return outcome_of_status(status);
        }
    }
}

/// Makes the mount namespace, mounts, and drops the capabilities.
fn confine() -> Result<(), String> {
    // SAFETY: unshare has no memory-safety preconditions.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(format!(
            "cannot make the task's mount namespace: {}",
            std::io::Error::last_os_error()
        ));
    }
    // Mounts made here must not reach the host's namespace; the host's still reach here.
    mount(None, "/", None, libc::MS_REC | libc::MS_SLAVE)?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    for target in read_only_targets(&mountinfo) {
        remount_read_only(&target.mount_point, target.flags)?;
    }
    let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount(Some("proc"), "/proc", Some("proc"), proc_flags)?;
    for path in ["/proc/sys", "/proc/sysrq-trigger"] {
        if Path::new(path).exists() {
            mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC)?;
            remount_read_only(Path::new(path), proc_flags)?;
        }
    }
    super::task_capabilities::drop_for_task().map_err(|e| e.to_string())
}

fn remount_read_only(path: &Path, flags: libc::c_ulong) -> Result<(), String> {
    let flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | flags;
    mount(None, &path.to_string_lossy(), None, flags)
}

fn mount(
    source: Option<&str>,
    target: &str,
    fs_type: Option<&str>,
    flags: libc::c_ulong,
) -> Result<(), String> {
    let c = |s: &str| CString::new(s).map_err(|_| format!("{s:?} holds a NUL byte"));
    let source = source.map(c).transpose()?;
    let fs_type = fs_type.map(c).transpose()?;
    let c_target = c(target)?;
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string alive for the call.
    let rc = unsafe {
        libc::mount(
            ptr(&source),
            c_target.as_ptr(),
            ptr(&fs_type),
            flags,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "cannot mount {target} for the task: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------ mount table

/// One mount to make read-only in the task, with the per-mount flags it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPoint {
    pub mount_point: PathBuf,
    pub flags: libc::c_ulong,
}

/// From `/proc/self/mountinfo`: `/sys` and every mount below it (the cgroup filesystem
/// included), and cgroup filesystems mounted anywhere else, parents first.
pub fn read_only_targets(mountinfo: &str) -> Vec<MountPoint> {
    let mut targets: Vec<MountPoint> = mountinfo
        .lines()
        .filter_map(parse_line)
        .filter(|(mount_point, fs_type, _)| {
            mount_point == Path::new("/sys")
                || mount_point.starts_with("/sys/")
                || *fs_type == "cgroup"
                || *fs_type == "cgroup2"
        })
        .map(|(mount_point, _, flags)| MountPoint { mount_point, flags })
        .collect();
    targets.sort_by_key(|target| target.mount_point.components().count());
    targets.dedup();
    targets
}

/// (mount point, filesystem type, per-mount flags) of one mountinfo line.
fn parse_line(line: &str) -> Option<(PathBuf, &str, libc::c_ulong)> {
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    let mount_point = corral_cgroups::mounts::unescape(fields.get(4)?);
    let flags = fields.get(5)?.split(',').fold(0, |flags, option| {
        flags
            | match option {
                "nosuid" => libc::MS_NOSUID,
                "nodev" => libc::MS_NODEV,
                "noexec" => libc::MS_NOEXEC,
                "noatime" => libc::MS_NOATIME,
                "nodiratime" => libc::MS_NODIRATIME,
                "relatime" => libc::MS_RELATIME,
                _ => 0,
            }
    });
    let fs_type = after.split(' ').next()?;
    Some((PathBuf::from(mount_point), fs_type, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of this machine's kind (cgroup v1 hybrid) and a cgroup v2 one.
    const MOUNTINFO: &str = "\
22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 22 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
30 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
26 25 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
40 28 0:40 / /cgroup/my\\040pids rw,relatime - cgroup cgroup rw,pids
23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
";

    #[test]
    fn sys_and_every_cgroup_filesystem_become_read_only_parents_first() {
        let targets = read_only_targets(MOUNTINFO);
        let points: Vec<_> = targets
            .iter()
            .map(|t| t.mount_point.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            points,
            [
                "/sys",
                "/cgroup/my pids",
                "/sys/fs/cgroup",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/unified",
            ]
        );
        let sys = &targets[0];
        assert_eq!(
            sys.flags,
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RELATIME
        );
    }

    #[test]
    fn a_malformed_line_is_skipped_not_fatal() {
        let targets = read_only_targets("garbage\n30 25 0:28 / /sys rw - sysfs sysfs rw\n");
        assert_eq!(targets.len(), 1);
    }
}
