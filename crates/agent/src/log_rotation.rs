//! A task's stdout and stderr with a cap, as Mesos' `LogrotateContainerLogger` keeps them:
//! the command writes to a pipe; a copier reads it and appends to `<sandbox>/stdout` until
//! the file would pass `max_size`, then renames it `stdout.1` (`stdout.1` becomes
//! `stdout.2`, ..., at most `max_files` kept: logrotate's `rotate N`) and starts a new one.
//! The cap is written beside the logs in Mesos' file, `stdout.logrotate.conf`
//! (`"<path>" {`, `rotate N`, `size BYTES`, `}`); Corral rotates itself, no `logrotate` runs.
//!
//! The copiers run in `corral supervise` (`supervisor.rs`), which outlives the agent, so a
//! task's logs keep rotating while the agent restarts. Each copies through one fixed
//! buffer; a slow disk holds the task back only as a full pipe would. Blocking code: it
//! runs on the supervisor's own threads.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Mesos' `max_stdout_size` default.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;
/// Rotated files kept by default (`rotate 9`, as Mesos' documented logrotate options).
pub const DEFAULT_MAX_FILES: u32 = 9;
/// The smallest cap (Mesos: at least one memory page).
pub const MIN_MAX_SIZE: u64 = 4096;
/// The most rotated files one may ask to keep.
pub const MAX_MAX_FILES: u32 = 1000;
/// What one read of the pipe takes at most: the copier's whole buffer.
const BUFFER: usize = 64 * 1024;
/// How often a copier whose command has ended looks whether the pipe is drained (a
/// process the command left behind may hold it open).
const DRAIN_POLL_MS: i32 = 100;

/// `--container-logger-max-size` and `--container-logger-max-files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRotation {
    /// The most bytes one log file holds.
    pub max_size: u64,
    /// Rotated files kept (`stdout.1` .. `stdout.N`); 0 keeps only the current one.
    pub max_files: u32,
}

impl Default for LogRotation {
    fn default() -> LogRotation {
        LogRotation {
            max_size: DEFAULT_MAX_SIZE,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

impl LogRotation {
    /// Refuses a cap below a page or an unbounded number of files, naming the flag.
    pub fn check(&self) -> Result<(), String> {
        if self.max_size < MIN_MAX_SIZE {
            return Err(format!(
                "--container-logger-max-size must be at least {MIN_MAX_SIZE} bytes (one page), not {}",
                self.max_size
            ));
        }
        if self.max_files > MAX_MAX_FILES {
            return Err(format!(
                "--container-logger-max-files must be at most {MAX_MAX_FILES}, not {}",
                self.max_files
            ));
        }
        Ok(())
    }

    /// Mesos' `<log>.logrotate.conf` for the log at `path`.
    pub fn conf(&self, path: &Path) -> String {
        format!(
            "\"{}\" {{\nrotate {}\nsize {}\n}}\n",
            path.display(),
            self.max_files,
            self.max_size
        )
    }
}

/// A log file that rotates before it passes its cap.
pub struct RotatingFile {
    path: PathBuf,
    rotation: LogRotation,
    file: Option<File>,
    size: u64,
    /// Who new files belong to (the sandbox's owner, when the copier runs as root).
    owner: Option<(u32, u32)>,
}

impl RotatingFile {
    pub fn new(path: PathBuf, rotation: LogRotation, owner: Option<(u32, u32)>) -> RotatingFile {
        RotatingFile {
            path,
            rotation,
            file: None,
            size: 0,
            owner,
        }
    }

    /// Appends `data`, rotating first whenever the file would pass its cap, so no file ever
    /// holds more than `max_size`. A write that fails drops its bytes: draining the pipe
    /// (so the task is not blocked) comes before the log's completeness, as in Mesos.
    pub fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if !self.open() {
                return;
            }
            let room = self.rotation.max_size.saturating_sub(self.size);
            if room == 0 {
                self.rotate();
                continue;
            }
            let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            let Some(file) = self.file.as_mut() else {
                return;
            };
            if file.write_all(&data[..take]).is_err() {
                return;
            }
            self.size += take as u64;
            data = &data[take..];
        }
    }

    /// Opens the file, again when another writer (another process of the task) rotated the
    /// one we hold away; false when it cannot be opened.
    fn open(&mut self) -> bool {
        // lstat: a symlink put in its place is not the file we hold (and is not opened).
        let moved = match (&self.file, std::fs::symlink_metadata(&self.path)) {
            (Some(file), Ok(on_disk)) => {
                file.metadata().map(|m| m.ino()).ok() != Some(on_disk.ino())
            }
            (Some(_), Err(_)) => true,
            (None, _) => true,
        };
        if moved {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&self.path);
            let Ok(file) = file else {
                return false;
            };
            if let Some((uid, gid)) = self.owner {
                let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
            }
            self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
            self.file = Some(file);
        }
        true
    }

    /// `stdout.N-1` -> `stdout.N`, ..., `stdout` -> `stdout.1`; the oldest beyond
    /// `max_files` is removed.
    fn rotate(&mut self) {
        self.file = None;
        let numbered = |n: u32| {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        let keep = self.rotation.max_files;
        if keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(numbered(keep));
            for n in (1..keep).rev() {
                let _ = std::fs::rename(numbered(n), numbered(n + 1));
            }
            let _ = std::fs::rename(&self.path, numbered(1));
        }
        self.size = 0;
    }
}

/// The pipes a supervised command writes its stdout and stderr to, and their copiers.
pub struct LogPipes {
    /// The write ends, handed to the command (and then dropped here).
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Read ends and their files whose copiers have not started yet ([`LogPipes::run`]).
    pending: Vec<(OwnedFd, RotatingFile)>,
    copiers: Vec<JoinHandle<()>>,
    ended: Arc<AtomicBool>,
}

impl LogPipes {
    /// [`LogPipes::prepare`], then [`LogPipes::run`].
    pub fn start(sandbox: &Path, rotation: LogRotation) -> std::io::Result<LogPipes> {
        let mut pipes = LogPipes::prepare(sandbox, rotation)?;
        pipes.run()?;
        Ok(pipes)
    }

    /// Writes the `.logrotate.conf` files and makes a pipe for `sandbox/stdout` and one for
    /// `sandbox/stderr`; no thread starts yet (a caller that forks and runs Rust code in the
    /// child, as the namespace init does, must fork while it is single-threaded).
    pub fn prepare(sandbox: &Path, rotation: LogRotation) -> std::io::Result<LogPipes> {
        let owner = sandbox_owner(sandbox);
        let mut pipes = LogPipes {
            stdout: None,
            stderr: None,
            pending: Vec::new(),
            copiers: Vec::new(),
            ended: Arc::new(AtomicBool::new(false)),
        };
        for name in ["stdout", "stderr"] {
            let path = sandbox.join(name);
            let conf = sandbox.join(format!("{name}.logrotate.conf"));
            write_new(&conf, rotation.conf(&path).as_bytes())?;
            let (read_end, write_end) = pipe()?;
            pipes
                .pending
                .push((read_end, RotatingFile::new(path, rotation, owner)));
            match name {
                "stdout" => pipes.stdout = Some(write_end),
                _ => pipes.stderr = Some(write_end),
            }
        }
        Ok(pipes)
    }

    /// Starts a copier thread for each prepared pipe; returns once each has its buffer and
    /// waits on its pipe (a fork that follows finds no thread inside the allocator).
    pub fn run(&mut self) -> std::io::Result<()> {
        let (ready, started) = std::sync::mpsc::channel();
        let mut count = 0;
        for (read_end, file) in self.pending.drain(..) {
            let ended = self.ended.clone();
            let ready = ready.clone();
            let copier = std::thread::Builder::new()
                .name("copy-log".to_string())
                .spawn(move || {
                    let buffer = vec![0u8; BUFFER];
                    let _ = ready.send(());
                    drop(ready);
                    copy(&read_end, file, &ended, buffer);
                })?;
            self.copiers.push(copier);
            count += 1;
        }
        drop(ready);
        for _ in 0..count {
            let _ = started.recv();
        }
        Ok(())
    }

    /// The command ended: copies what it left in the pipes and waits for the copiers. What a
    /// process it left behind writes later is not kept.
    pub fn finish(mut self) {
        self.stdout = None;
        self.stderr = None;
        self.ended.store(true, Ordering::Release);
        for copier in self.copiers.drain(..) {
            let _ = copier.join();
        }
    }
}

/// Writes `path` afresh, refusing to follow a symlink there: the supervisor may be root and
/// the sandbox the task's (a fetched archive can hold any name).
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(bytes)
}

/// Who owns `sandbox`, when that is not this process's user and this process may give
/// files away (root): the rotated files become theirs, as the sandbox is.
fn sandbox_owner(sandbox: &Path) -> Option<(u32, u32)> {
    let meta = std::fs::metadata(sandbox).ok()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    (me == 0 && meta.uid() != 0).then(|| (meta.uid(), meta.gid()))
}

/// Reads the pipe into the file until every writer closed it, or (once the command ended)
/// until nothing more is waiting in it.
fn copy(pipe: &OwnedFd, mut file: RotatingFile, ended: &AtomicBool, mut buffer: Vec<u8>) {
    let fd = pipe.as_raw_fd();
    loop {
        let finishing = ended.load(Ordering::Acquire);
        let timeout = if finishing { 0 } else { DRAIN_POLL_MS };
        match wait_readable(fd, timeout) {
            Ok(true) => {}
            Ok(false) if finishing => return,
            Ok(false) => continue,
            Err(_) => return,
        }
        // SAFETY: the buffer is valid for its length; fd is the pipe this copier owns.
        let n = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        match n {
            0 => return, // every writer closed it
            n if n > 0 => file.write(&buffer[..n as usize]),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return;
                }
            }
        }
    }
}

/// Whether `fd` has data (or its end) within `timeout_ms`.
fn wait_readable(fd: RawFd, timeout_ms: i32) -> std::io::Result<bool> {
    loop {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
        if rc >= 0 {
            return Ok(rc > 0);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A pipe whose two ends are close-on-exec (a child gets one only through its stdio).
pub(crate) fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are fresh descriptors this process owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(max_files: u32) -> LogRotation {
        LogRotation {
            max_size: 4096,
            max_files,
        }
    }

    fn sizes(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .expect("list")
            .flatten()
            .map(|e| {
                let len = e.metadata().expect("meta").len();
                (e.file_name().to_string_lossy().into_owned(), len)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn a_file_never_passes_its_cap_and_only_n_rotated_files_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file = RotatingFile::new(dir.path().join("stdout"), small(3), None);
        // 10 pages and a half in odd-sized writes, the last bytes marked.
        let mut written = Vec::new();
        for i in 0..1000u32 {
            let line = format!("line {i:05} {}\n", "x".repeat((i % 17) as usize));
            written.extend_from_slice(line.as_bytes());
            file.write(line.as_bytes());
        }
        let files = sizes(dir.path());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["stdout", "stdout.1", "stdout.2", "stdout.3"]);
        assert!(files.iter().all(|(_, len)| *len <= 4096), "{files:?}");
        // The newest bytes are the end of what was written, in order across the files.
        let mut kept = Vec::new();
        for name in ["stdout.3", "stdout.2", "stdout.1", "stdout"] {
            kept.extend(std::fs::read(dir.path().join(name)).expect("read"));
        }
        assert!(
            written.ends_with(&kept),
            "the kept logs are not the newest bytes"
        );
        assert_eq!(kept.len(), 3 * 4096 + files[0].1 as usize);
    }

    #[test]
    fn one_write_larger_than_the_cap_is_split_across_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file = RotatingFile::new(dir.path().join("stderr"), small(9), None);
        file.write(&vec![b'a'; 3 * 4096 + 10]);
        let files = sizes(dir.path());
        assert_eq!(
            files,
            [
                ("stderr".to_string(), 10),
                ("stderr.1".to_string(), 4096),
                ("stderr.2".to_string(), 4096),
                ("stderr.3".to_string(), 4096)
            ]
        );
    }

    #[test]
    fn max_files_zero_keeps_only_the_current_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file = RotatingFile::new(dir.path().join("stdout"), small(0), None);
        file.write(&vec![b'a'; 5000]);
        assert_eq!(sizes(dir.path()), [("stdout".to_string(), 5000 - 4096)]);
    }

    #[test]
    fn the_pipes_copy_what_a_command_wrote_and_write_the_conf() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut pipes = LogPipes::start(dir.path(), small(2)).expect("start");
        let out = pipes.stdout.take().expect("stdout");
        let status = std::process::Command::new("/bin/sh")
            .args(["-c", "head -c 20000 /dev/zero; echo last-line"])
            .stdout(out)
            .status()
            .expect("runs");
        assert!(status.success());
        pipes.finish();
        let stdout = std::fs::read_to_string(dir.path().join("stdout")).expect("stdout");
        assert!(stdout.ends_with("last-line\n"), "{stdout:?}");
        let names: Vec<String> = sizes(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            // Nothing went to stderr: its file is made on the first write (the agent
            // makes both files before the supervisor starts).
            [
                "stderr.logrotate.conf",
                "stdout",
                "stdout.1",
                "stdout.2",
                "stdout.logrotate.conf"
            ]
        );
        let conf = std::fs::read_to_string(dir.path().join("stdout.logrotate.conf")).expect("conf");
        assert_eq!(
            conf,
            format!(
                "\"{}\" {{\nrotate 2\nsize 4096\n}}\n",
                dir.path().join("stdout").display()
            )
        );
    }

    #[test]
    fn a_process_left_holding_the_pipe_does_not_hold_the_copier() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut pipes = LogPipes::start(dir.path(), small(2)).expect("start");
        let out = pipes.stdout.take().expect("stdout");
        // The shell exits at once; the sleep it started keeps the pipe open.
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "echo before; sleep 30 & echo $! > sleeper"])
            .current_dir(dir.path())
            .stdout(out)
            .spawn()
            .expect("runs");
        child.wait().expect("waits");
        pipes.finish();
        let stdout = std::fs::read_to_string(dir.path().join("stdout")).expect("stdout");
        assert_eq!(stdout, "before\n");
        if let Ok(pid) = std::fs::read_to_string(dir.path().join("sleeper"))
            && let Ok(pid) = pid.trim().parse::<i32>()
        {
            // SAFETY: kill has no memory-safety preconditions; the pid is our sleep.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }

    #[test]
    fn bad_caps_are_refused_naming_the_flag() {
        assert!(LogRotation::default().check().is_ok());
        let small = LogRotation {
            max_size: 100,
            ..LogRotation::default()
        };
        assert!(
            small
                .check()
                .unwrap_err()
                .contains("--container-logger-max-size")
        );
        let many = LogRotation {
            max_files: 100_000,
            ..LogRotation::default()
        };
        assert!(
            many.check()
                .unwrap_err()
                .contains("--container-logger-max-files")
        );
    }
}
