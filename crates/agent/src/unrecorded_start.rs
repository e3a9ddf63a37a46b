//! A task's command the agent started but had not yet checkpointed when it died (a kill -9
//! between the start and the write of the supervisor's pid): a restarted agent looks for it
//! before saying that it never started. The container's checkpoint is on disk before any
//! process starts (`TaskRunner::create_container`), so the container directory is known; its
//! supervisor runs as `corral supervise --exit-file <container dir>/exit-<id> ...`, which
//! names the container and the process id, and records the command's exit in that file.
//!
//! - A live supervisor with its command: what the checkpoint would have said, to reattach.
//! - A live supervisor that has not started its command yet: killed.
//! - An exit file: the command ran and ended while the agent was down.
//!
//! Reads `/proc` and files: call it off the async threads.

use std::path::{Path, PathBuf};

use super::container_checkpoint::{ProcessCheckpoint, container_dir};
use super::processes::ExitOutcome;
use super::supervisor;
use super::task_ending::Unrecorded;

/// What was found of the unrecorded start.
#[derive(Debug, Clone, PartialEq)]
pub enum Trace {
    /// Its supervisor and command run: reattach to them.
    Running(ProcessCheckpoint),
    /// Not running (any supervisor found starting was killed): how it ended.
    Ended(Unrecorded),
}

/// Looks for the first process of `container_id` in `/proc` and its exit file. `strays`: its
/// cgroup still held processes (they are killed with the cgroup).
pub fn find(work_dir: &Path, container_id: &str, strays: bool) -> Trace {
    let dir = container_dir(work_dir, container_id);
    let mut killed = strays;
    for (pid, id) in supervisors_of(Path::new("/proc"), &dir) {
        let Some(started) = supervisor::start_time(pid) else {
            continue;
        };
        match command_of(pid) {
            Some(pgid) => {
                return Trace::Running(ProcessCheckpoint {
                    id,
                    supervisor_pid: pid,
                    supervisor_start: started,
                    pgid,
                });
            }
            None => {
                // Between its start and its command's: nothing to reattach to.
                tracing::warn!(
                    "killing the supervisor {pid} of container {container_id}: it had not started its command"
                );
                // SAFETY: kill(2) has no memory-safety preconditions; the supervisor leads
                // its own process group.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
                killed = true;
            }
        }
    }
    if let Some(exit) = first_exit(&dir) {
        return Trace::Ended(Unrecorded::Ended(exit));
    }
    Trace::Ended(if killed {
        Unrecorded::Killed
    } else {
        Unrecorded::NotStarted
    })
}

/// The pids of `corral supervise` processes whose exit file lies in `container_dir`, with
/// the process id the file name carries.
fn supervisors_of(proc_root: &Path, container_dir: &Path) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(proc_root).into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if let Some(id) = supervised_process(&cmdline, container_dir) {
            found.push((pid, id));
        }
    }
    // A root task's namespace init is a fork of its supervisor, with the same command line:
    // the supervisor is the one whose parent is not another of them.
    let pids: Vec<u32> = found.iter().map(|(pid, _)| *pid).collect();
    found.retain(|(pid, _)| {
        parent_and_group(*pid).is_none_or(|(parent, _)| !pids.contains(&parent))
    });
    found
}

/// The process id of a supervisor's command line (NUL-separated) whose `--exit-file` lies in
/// `container_dir`.
fn supervised_process(cmdline: &[u8], container_dir: &Path) -> Option<u32> {
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    if !args.iter().any(|a| *a == supervisor::SUBCOMMAND.as_bytes()) {
        return None;
    }
    let at = args.iter().position(|a| *a == b"--exit-file")?;
    let file = PathBuf::from(String::from_utf8_lossy(args.get(at + 1)?).into_owned());
    if file.parent()? != container_dir {
        return None;
    }
    file.file_name()?
        .to_str()?
        .strip_prefix("exit-")?
        .parse()
        .ok()
}

/// The command a supervisor started: its child that leads its own process group (read from
/// every `/proc/<pid>/stat`: `/proc/<pid>/task/<tid>/children` is not in every kernel).
fn command_of(supervisor_pid: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            parent_and_group(*pid)
                .is_some_and(|(parent, group)| parent == supervisor_pid && group == *pid)
        })
}

/// A process's parent and process group, from `/proc/<pid>/stat` (fields 4 and 5).
fn parent_and_group(pid: u32) -> Option<(u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(1);
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some((parent, group))
}

/// The exit recorded for the container's first process (the lowest id), if any.
fn first_exit(container_dir: &Path) -> Option<ExitOutcome> {
    let mut ids: Vec<u32> = std::fs::read_dir(container_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("exit-")?.parse().ok())
        .collect();
    ids.sort_unstable();
    let first = ids.first()?;
    supervisor::read_exit(&container_dir.join(format!("exit-{first}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmdline(args: &[&str]) -> Vec<u8> {
        args.join("\0").into_bytes()
    }

    #[test]
    fn a_supervisor_is_known_by_its_exit_file() {
        let dir = Path::new("/w/meta/containers/c1");
        let line = cmdline(&[
            "/usr/bin/corral",
            "supervise",
            "--exit-file",
            "/w/meta/containers/c1/exit-4",
            "--status-fd",
            "3",
            "--",
            "/bin/sh",
            "-c",
            "sleep 1",
        ]);
        assert_eq!(supervised_process(&line, dir), Some(4));
        let other = Path::new("/w/meta/containers/c2");
        assert_eq!(
            supervised_process(&line, other),
            None,
            "another container's"
        );
        let not_a_supervisor = cmdline(&["sleep", "--exit-file", "/w/meta/containers/c1/exit-4"]);
        assert_eq!(supervised_process(&not_a_supervisor, dir), None);
        let bad_id = cmdline(&[
            "corral",
            "supervise",
            "--exit-file",
            "/w/meta/containers/c1/x",
        ]);
        assert_eq!(supervised_process(&bad_id, dir), None);
    }

    #[test]
    fn an_exit_file_says_the_command_ran_and_how_it_ended() {
        let work = tempfile::tempdir().expect("temp dir");
        let dir = container_dir(work.path(), "c1");
        std::fs::create_dir_all(&dir).expect("dir");
        assert_eq!(
            find(work.path(), "c1", false),
            Trace::Ended(Unrecorded::NotStarted)
        );
        assert_eq!(
            find(work.path(), "c1", true),
            Trace::Ended(Unrecorded::Killed),
            "processes in its cgroup: it had started"
        );
        let exit = ExitOutcome {
            code: Some(3),
            signal: None,
        };
        supervisor::write_exit(&dir.join("exit-2"), exit).expect("exit file");
        assert_eq!(
            find(work.path(), "c1", false),
            Trace::Ended(Unrecorded::Ended(exit))
        );
    }

    /// A process that looks like the container's supervisor (its arguments name the exit
    /// file) and runs a command in a process group of its own.
    #[test]
    fn a_live_supervisor_and_its_command_are_found_to_reattach() {
        let work = tempfile::tempdir().expect("temp dir");
        let dir = container_dir(work.path(), "c1");
        std::fs::create_dir_all(&dir).expect("dir");
        let exit_file = dir.join("exit-1");
        let mut fake = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 600 & echo $! > \"$0.child\"; wait"])
            .arg(&exit_file)
            .args(["supervise", "--exit-file"])
            .arg(&exit_file)
            .spawn()
            .expect("spawn the stand-in supervisor");
        let child_file = dir.join("exit-1.child");
        let mut child = None;
        for _ in 0..500 {
            child = std::fs::read_to_string(&child_file)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            if child.is_some() && command_of(fake.id()).is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = find(work.path(), "c1", false);
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(child.expect("child pid") as i32, libc::SIGKILL) };
        let _ = fake.kill();
        let _ = fake.wait();
        let Trace::Running(process) = found else {
            panic!("not found: {found:?}");
        };
        assert_eq!(process.id, 1);
        assert_eq!(process.supervisor_pid, fake.id());
        assert_eq!(Some(process.pgid), child);
    }
}
