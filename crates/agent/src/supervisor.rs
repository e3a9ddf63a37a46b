//! A task's supervisor, so that its exit status survives the agent. The agent starts
//! `corral supervise` (hidden) in the task's sandbox, cgroups and environment; the supervisor
//! starts the command as the leader of a new process group, tells the agent the command's
//! pid on a status pipe, waits for it and writes how it ended to an exit file (atomically),
//! then exits. The agent waits for the supervisor (its child) and reads the exit file; an
//! agent restarted after a crash finds the supervisor by its pid and the exit file on disk.
//!
//! Status pipe lines (one, then the supervisor closes it): `ok <pid>` or `err <message>`.
//!
//! With `--log-max-size` the command's stdout and stderr are pipes that the supervisor copies
//! into the sandbox's files with rotation (`log_rotation.rs`), so the logs keep their cap
//! while the agent is down; the supervisor's own messages still go to the files the agent
//! opened.
//!
//! The supervisor's side runs in the `corral supervise` process, which has no async runtime:
//! its blocking calls (spawning, waiting, writing the exit file) are where they belong. The
//! agent's side forks off the async threads ([`start`]) and hears the answer on the pipe
//! asynchronously ([`handshake`]): a supervisor in a CPU-throttled cgroup can take seconds.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::checkpoint;
use super::log_rotation::{LogPipes, LogRotation, pipe};
use super::processes::{ExitOutcome, TaskEnvironment, command_value, command_variables};
use super::run_as::RunAs;
use super::task_namespaces;
use corral_api::v1::CommandInfo;
use corral_cgroups::JoinFiles;

/// The fd number the supervisor finds its status pipe on.
const STATUS_FD: RawFd = 3;

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "supervise";

// ---------------------------------------------------------------- the supervisor's side

/// What the supervisor does around the command besides running it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SuperviseOptions<'a> {
    /// A command that runs as root runs in PID and mount namespaces of its own
    /// (`task_namespaces.rs`); the supervisor must then have no thread of its own but the
    /// log copiers when it starts.
    pub root_namespaces: bool,
    /// `(sandbox, rotation)`: the command's stdout and stderr are copied into the sandbox's
    /// files with rotation, the copies complete before the exit is recorded.
    pub logs: Option<(&'a Path, LogRotation)>,
}

/// Runs `program` (argv[0] `argv0`, then `args`) in a new process group, as `user` when
/// given (`(name, sandbox)`: the sandbox is made the user's first), reports its pid on
/// `status_fd`, waits, and records the outcome in `exit_file`, doing what `options` ask.
/// Returns the supervisor's exit code: the command's, or 128 + its signal; 127 when it
/// cannot start.
pub fn supervise(
    exit_file: &Path,
    status_fd: RawFd,
    program: &OsStr,
    argv0: Option<&OsStr>,
    args: &[OsString],
    user: Option<(&str, &Path)>,
    options: SuperviseOptions<'_>,
) -> i32 {
    let mut status = status_pipe(status_fd);
    let run_as = match user.map(|(user, sandbox)| RunAs::prepare(user, sandbox)) {
        Some(Err(message)) => return refuse(&mut status, &message),
        Some(Ok(run_as)) => run_as,
        None => None,
    };
    let as_root = run_as
        .as_ref()
        .map_or_else(super::run_as::runs_as_root, |r| r.uid == 0);
    // After the sandbox is the user's: the rotated files become theirs too.
    let prepared = options
        .logs
        .map(|(sandbox, rotation)| LogPipes::prepare(sandbox, rotation));
    let mut pipes = match prepared {
        None => None,
        Some(Ok(pipes)) => Some(pipes),
        Some(Err(e)) => {
            let message = format!("cannot set up the task's log rotation: {e}");
            return refuse(&mut status, &message);
        }
    };
    if options.root_namespaces && as_root {
        // Threads first: none can start after unshare(CLONE_NEWPID) (EINVAL).
        if let Some(Err(e)) = pipes.as_mut().map(LogPipes::run) {
            return refuse(&mut status, &format!("cannot copy the task's logs: {e}"));
        }
        match task_namespaces::enter_pid_namespace() {
            Ok(()) => {
                let command = (program, argv0, args);
                return supervise_in_namespaces(exit_file, status, command, pipes);
            }
            Err(e) => eprintln!(
                "corral supervise: this platform gives the task no PID namespace ({e}): it \
                 runs as root in the agent's namespaces"
            ),
        }
    }
    let mut command = std::process::Command::new(program);
    if let Some(argv0) = argv0 {
        command.arg0(argv0);
    }
    command.args(args).process_group(0);
    if let Some(run_as) = run_as {
        // SAFETY: the closure runs in the forked child and makes only setgroups(2),
        // setgid(2) and setuid(2) calls, which are async-signal-safe; nothing is allocated.
        unsafe {
            command.pre_exec(move || run_as.switch());
        }
    }
    if let Some(pipes) = &mut pipes {
        if let Err(e) = pipes.run() {
            return refuse(&mut status, &format!("cannot copy the task's logs: {e}"));
        }
        if let Some(out) = pipes.stdout.take() {
            command.stdout(out);
        }
        if let Some(err) = pipes.stderr.take() {
            command.stderr(err);
        }
    }
    let child = command.spawn();
    // The command holds the pipes' write ends now; ours must close, or the copiers never
    // see their end.
    drop(command);
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return refuse(&mut status, &format!("cannot start {program:?}: {e}")),
    };
    report(&mut status, &format!("ok {}", child.id()));
    drop(status);
    let outcome = outcome_of(child.wait());
    if let Some(pipes) = pipes {
        pipes.finish();
    }
    record(exit_file, outcome)
}

/// [`supervise`] for a root command in its own namespaces: the namespace's init runs it.
fn supervise_in_namespaces(
    exit_file: &Path,
    mut status: Option<std::fs::File>,
    (program, argv0, args): (&OsStr, Option<&OsStr>, &[OsString]),
    mut pipes: Option<LogPipes>,
) -> i32 {
    let close: Vec<RawFd> = status.iter().map(AsRawFd::as_raw_fd).collect();
    let stdio = pipes
        .as_mut()
        .map(|p| [p.stdout.take(), p.stderr.take()])
        .unwrap_or_default();
    let started = task_namespaces::start_init(program, argv0, args, &close, stdio);
    let mut init = match started {
        Ok(init) => init,
        Err(e) => {
            let message = format!("cannot start the task's namespace init: {e}");
            return refuse(&mut status, &message);
        }
    };
    if let Err(message) = init.started() {
        let _ = init.wait();
        return refuse(&mut status, &message);
    }
    // The init leads the process group the command runs in: the agent signals that.
    report(&mut status, &format!("ok {}", init.pid()));
    drop(status);
    let outcome = init.wait();
    if let Some(pipes) = pipes {
        pipes.finish();
    }
    record(exit_file, outcome)
}

/// Tells the agent (and the task's stderr) why the command did not start; 127.
fn refuse(status: &mut Option<std::fs::File>, message: &str) -> i32 {
    report(status, &format!("err {message}"));
    eprintln!("corral supervise: {message}");
    127
}

fn outcome_of(waited: std::io::Result<std::process::ExitStatus>) -> ExitOutcome {
    use std::os::unix::process::ExitStatusExt;
    match waited {
        Ok(status) => ExitOutcome {
            code: status.code(),
            signal: status.signal(),
        },
        Err(e) => {
            eprintln!("corral supervise: cannot wait for the command: {e}");
            ExitOutcome {
                code: None,
                signal: None,
            }
        }
    }
}

/// Writes `outcome` to the exit file; the supervisor's exit code for it.
fn record(exit_file: &Path, outcome: ExitOutcome) -> i32 {
    if let Err(e) = write_exit(exit_file, outcome) {
        eprintln!("corral supervise: cannot record the exit status: {e}");
    }
    match outcome {
        ExitOutcome {
            code: Some(code), ..
        } => code,
        ExitOutcome {
            signal: Some(signal),
            ..
        } => 128 + signal,
        _ => 1,
    }
}

/// The status pipe the agent gave us, made close-on-exec so the command does not hold it
/// open (the agent reads until the pipe closes). `None` when there is no such fd.
fn status_pipe(fd: RawFd) -> Option<std::fs::File> {
    // SAFETY: fcntl on an arbitrary fd number has no memory-safety preconditions.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return None;
    }
    // SAFETY: as above; only sets FD_CLOEXEC.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    // SAFETY: the fd is open (checked above) and the agent handed it to this process to own.
    Some(unsafe { std::fs::File::from_raw_fd(fd) })
}

fn report(status: &mut Option<std::fs::File>, line: &str) {
    if let Some(file) = status {
        let _ = writeln!(file, "{line}");
    }
}

/// Records how the command ended, atomically.
pub fn write_exit(path: &Path, outcome: ExitOutcome) -> Result<(), checkpoint::CheckpointError> {
    let json = serde_json::to_vec(&outcome).unwrap_or_default();
    checkpoint::write_atomic(path, &json)
}

/// The recorded outcome; `None` if there is none (the supervisor did not get to write it)
/// or it cannot be read. Reads a file: call it off the async threads, or use
/// [`read_exit_async`].
pub fn read_exit(path: &Path) -> Option<ExitOutcome> {
    parse_exit(path, &std::fs::read(path).ok()?)
}

/// [`read_exit`] through tokio's file API.
pub async fn read_exit_async(path: &Path) -> Option<ExitOutcome> {
    parse_exit(path, &tokio::fs::read(path).await.ok()?)
}

fn parse_exit(path: &Path, bytes: &[u8]) -> Option<ExitOutcome> {
    match serde_json::from_slice(bytes) {
        Ok(outcome) => Some(outcome),
        Err(e) => {
            tracing::warn!("ignoring the unreadable exit file {}: {e}", path.display());
            None
        }
    }
}

// ---------------------------------------------------------------------- the agent's side

/// A supervised command as the agent sees it.
#[derive(Debug)]
pub struct Supervised {
    /// The supervisor process (the agent's child).
    pub child: tokio::process::Child,
    pub supervisor_pid: u32,
    /// The command's pid, which is also its process group id.
    pub pgid: u32,
}

/// Who a supervised command runs as, and what confines it.
#[derive(Debug, Clone, Copy)]
pub struct Confinement<'a> {
    /// The user (`run_as.rs`); `None`: the agent's.
    pub user: Option<&'a str>,
    /// A command that runs as root runs in its own PID and mount namespaces.
    pub root_namespaces: bool,
    /// How its stdout and stderr are rotated.
    pub logs: LogRotation,
}

/// The flag of `corral supervise` that asks for [`Confinement::root_namespaces`].
pub const ROOT_NAMESPACES_FLAG: &str = "--root-namespaces";

/// A supervisor started that has not said yet whether the command started.
#[derive(Debug)]
pub struct Starting {
    child: tokio::process::Child,
    supervisor_pid: u32,
    /// The read end of the status pipe.
    status: OwnedFd,
    /// The command as the messages show it.
    shown: String,
}

impl Starting {
    pub fn supervisor_pid(&self) -> u32 {
        self.supervisor_pid
    }
}

/// Starts `command` under `binary supervise`: in `sandbox`, with the task's environment and
/// log files (rotated as `confinement.logs` says), joined to `cgroups` before it execs (its
/// children inherit them). Forks and waits for the exec, which a throttled cgroup slows
/// down: call it off the async threads. [`handshake`] then hears whether the command started.
pub fn start(
    binary: &Path,
    exit_file: &Path,
    command: &CommandInfo,
    sandbox: &Path,
    env: &TaskEnvironment,
    cgroups: Option<&JoinFiles>,
    confinement: Confinement<'_>,
) -> Result<Starting, String> {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.arg(SUBCOMMAND)
        .arg("--exit-file")
        .arg(exit_file)
        .arg("--status-fd")
        .arg(STATUS_FD.to_string())
        .arg("--log-max-size")
        .arg(confinement.logs.max_size.to_string())
        .arg("--log-max-files")
        .arg(confinement.logs.max_files.to_string());
    if let Some(user) = confinement.user {
        cmd.arg("--user").arg(user);
    }
    if confinement.root_namespaces {
        cmd.arg(ROOT_NAMESPACES_FLAG);
    }
    let value = command_value(command);
    let shown = if command.is_shell() {
        cmd.arg("--").arg("/bin/sh").arg("-c").arg(value);
        format!("/bin/sh -c {value:?}")
    } else {
        if value.is_empty() {
            return Err("command has no program to run (value is empty)".to_string());
        }
        if let Some(argv0) = command.arguments.first() {
            let mut flag = OsString::from("--argv0=");
            flag.push(argv0);
            cmd.arg(flag);
        }
        cmd.arg("--")
            .arg(value)
            .args(command.arguments.iter().skip(1));
        format!("{value:?}")
    };
    let stdout = open_log(sandbox, "stdout")?;
    let stderr = open_log(sandbox, "stderr")?;
    cmd.current_dir(sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // Its own group: a signal to the agent's group (Ctrl-C) does not reach it.
        .process_group(0)
        .kill_on_drop(false);
    for (name, value) in command_variables(command) {
        cmd.env(name, value);
    }
    for (name, value) in env.variables() {
        cmd.env(name, value);
    }
    let (read_end, write_end) = pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
    let write_fd = write_end.as_raw_fd();
    let join_fds = cgroups.map(JoinFiles::fds).unwrap_or_default();
    // SAFETY: the closure runs in the forked child and only calls write(2), dup2(2) and
    // fcntl(2), which are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            JoinFiles::join_in_child(&join_fds)?;
            if write_fd == STATUS_FD {
                // dup2 onto itself keeps close-on-exec; clear it instead.
                if libc::fcntl(write_fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(write_fd, STATUS_FD) != STATUS_FD {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the supervisor of {shown}: {e}"))?;
    drop(write_end);
    let supervisor_pid = child
        .id()
        .ok_or_else(|| format!("the supervisor of {shown} started without a process id"))?;
    Ok(Starting {
        child,
        supervisor_pid,
        status: read_end,
        shown,
    })
}

/// Waits, without holding a thread, until the supervisor says whether the command started
/// (it closes the pipe after one line).
pub async fn handshake(starting: Starting) -> Result<Supervised, String> {
    let Starting {
        child,
        supervisor_pid,
        status,
        shown,
    } = starting;
    let mut answer = String::new();
    let read = match tokio::net::unix::pipe::Receiver::from_owned_fd(status) {
        Ok(mut pipe) => pipe.read_to_string(&mut answer).await,
        Err(e) => Err(e),
    };
    let answer = answer.trim();
    let started = match (read, answer.split_once(' ')) {
        (Ok(_), Some(("ok", pid))) => pid
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("the supervisor of {shown} sent a bad pid {pid:?}")),
        (Ok(_), Some(("err", message))) => Err(message.to_string()),
        (Err(e), _) => Err(format!("cannot hear from the supervisor of {shown}: {e}")),
        (Ok(_), _) => Err(format!(
            "the supervisor of {shown} ended before starting it (said {answer:?})"
        )),
    };
    match started {
        Ok(pgid) => Ok(Supervised {
            child,
            supervisor_pid,
            pgid,
        }),
        Err(message) => {
            // Reap the supervisor; it exits on its own.
            let mut child = child;
            tokio::spawn(async move { child.wait().await });
            Err(message)
        }
    }
}

/// Waits for the supervisor and says how the command ended: from the exit file, or (if the
/// supervisor died without writing it) from the supervisor's own status.
pub async fn wait(child: tokio::process::Child, exit_file: PathBuf) -> ExitOutcome {
    let own = super::processes::wait(child).await;
    read_exit_async(&exit_file).await.unwrap_or(own)
}

fn open_log(sandbox: &Path, name: &str) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    // Not through a symlink a fetched archive put there: the agent may be root.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(sandbox.join(name))
        .map_err(|e| format!("cannot open {name}: {e}"))
}

/// The start time of a process (clock ticks since boot, field 22 of /proc/PID/stat), to tell
/// a process from a later one that reuses its pid; `None` if it is gone or a zombie. The
/// kernel answers /proc from memory, never from a disk: cheap enough on an async thread
/// (a recovered task polls it).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); field 22 is fields[19].
    if matches!(fields.first(), Some(&"Z") | Some(&"X") | Some(&"x")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `started` still runs.
pub fn is_alive(pid: u32, started: u64) -> bool {
    start_time(pid) == Some(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c script` supervised (as `user` in a sandbox, if given); its exit code and what
    /// it said on the status pipe.
    fn supervise_sh(exit: &Path, script: &str, user: Option<(&str, &Path)>) -> (i32, String) {
        use std::io::Read;
        let (read_end, write_end) = pipe().expect("pipe");
        let fd = write_end.as_raw_fd();
        std::mem::forget(write_end); // supervise owns it now
        let args = ["-c".into(), script.into()];
        let options = SuperviseOptions::default();
        let code = supervise(exit, fd, OsStr::new("/bin/sh"), None, &args, user, options);
        let mut said = String::new();
        std::fs::File::from(read_end)
            .read_to_string(&mut said)
            .expect("read the status pipe");
        (code, said)
    }

    #[test]
    fn supervise_records_the_exit_code_and_reports_the_pid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let exit = dir.path().join("exit");
        let (code, said) = supervise_sh(&exit, "exit 3", None);
        assert_eq!(code, 3);
        assert!(said.starts_with("ok "), "{said:?}");
        assert_eq!(
            read_exit(&exit),
            Some(ExitOutcome {
                code: Some(3),
                signal: None
            })
        );
    }

    #[test]
    fn the_command_runs_as_its_user_in_a_sandbox_made_theirs() {
        use std::os::unix::fs::MetadataExt;
        if !crate::runs_as_root() {
            eprintln!("skipped: switching users needs root");
            return;
        }
        let nobody = RunAs::lookup("nobody").expect("nobody exists");
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = dir.path().join("sandbox");
        std::fs::create_dir(&sandbox).expect("sandbox");
        std::fs::write(sandbox.join("fetched"), "x").expect("a fetched file");
        let exit = dir.path().join("exit");
        let script = format!(
            "id -u > {0}/uid; id -G > {0}/groups; echo x >> /etc/corral-must-not-write",
            sandbox.display()
        );
        let code = supervise(
            &exit,
            -1,
            OsStr::new("/bin/sh"),
            None,
            &["-c".into(), script.into()],
            Some(("nobody", &sandbox)),
            SuperviseOptions::default(),
        );
        assert_ne!(code, 0, "nobody could write to /etc");
        let uid = std::fs::read_to_string(sandbox.join("uid")).expect("uid");
        assert_eq!(uid.trim(), nobody.uid.to_string());
        let groups = std::fs::read_to_string(sandbox.join("groups")).expect("groups");
        assert!(
            !groups.split_whitespace().any(|g| g == "0"),
            "root's group kept: {groups}"
        );
        let fetched = std::fs::metadata(sandbox.join("fetched")).expect("meta");
        assert_eq!(fetched.uid(), nobody.uid);
        assert!(!Path::new("/etc/corral-must-not-write").exists());
    }

    #[test]
    fn an_unknown_user_is_refused_before_anything_runs_naming_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let exit = dir.path().join("exit");
        let script = format!("touch {}/ran", dir.path().display());
        let (code, said) = supervise_sh(&exit, &script, Some(("no-such-user-here", dir.path())));
        assert_eq!(code, 127);
        assert!(
            said.contains("\"no-such-user-here\" does not exist"),
            "{said:?}"
        );
        assert!(!dir.path().join("ran").exists());
    }

    #[test]
    fn supervise_reports_a_command_that_cannot_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let exit = dir.path().join("exit");
        let code = supervise(
            &exit,
            -1,
            OsStr::new("/no/such/program"),
            None,
            &[],
            None,
            SuperviseOptions::default(),
        );
        assert_eq!(code, 127);
        assert_eq!(read_exit(&exit), None);
    }

    #[test]
    fn a_signalled_command_is_recorded_with_its_signal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let exit = dir.path().join("exit");
        let code = supervise(
            &exit,
            -1,
            OsStr::new("/bin/sh"),
            None,
            &["-c".into(), "kill -KILL $$".into()],
            None,
            SuperviseOptions::default(),
        );
        assert_eq!(code, 128 + libc::SIGKILL);
        assert_eq!(
            read_exit(&exit),
            Some(ExitOutcome {
                code: None,
                signal: Some(libc::SIGKILL)
            })
        );
    }

    #[test]
    fn a_supervised_command_s_output_is_rotated_and_complete_when_its_exit_is_recorded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let exit = dir.path().join("exit");
        let rotation = LogRotation {
            max_size: 4096,
            max_files: 2,
        };
        let script = "head -c 20000 /dev/zero | tr '\\0' a; echo; echo done; echo oops >&2";
        let code = supervise(
            &exit,
            -1,
            OsStr::new("/bin/sh"),
            None,
            &["-c".into(), script.into()],
            None,
            SuperviseOptions {
                logs: Some((dir.path(), rotation)),
                ..Default::default()
            },
        );
        assert_eq!(code, 0);
        assert!(read_exit(&exit).is_some());
        let stdout = std::fs::read_to_string(dir.path().join("stdout")).expect("stdout");
        assert!(stdout.ends_with("\ndone\n"), "{stdout:?}");
        for name in ["stdout", "stdout.1", "stdout.2"] {
            let len = std::fs::metadata(dir.path().join(name)).expect(name).len();
            assert!(len <= 4096, "{name}: {len}");
        }
        assert!(!dir.path().join("stdout.3").exists());
        let stderr = std::fs::read_to_string(dir.path().join("stderr")).expect("stderr");
        assert_eq!(stderr, "oops\n");
    }

    #[test]
    fn start_time_tells_live_processes_from_gone_ones() {
        let me = std::process::id();
        let started = start_time(me).expect("this process has a start time");
        assert!(is_alive(me, started));
        assert!(
            !is_alive(me, started + 1),
            "a different start time is another process"
        );
        assert!(!is_alive(u32::MAX - 1, 0));
    }
}
