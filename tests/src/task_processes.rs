//! Finding a task's process and output from the host. A task that runs as root has a PID
//! namespace of its own (issue 16), where its `$$` is a small number that means nothing on
//! the host; the tests that signal or watch a task's process find its host pid here instead.

use std::path::{Path, PathBuf};

/// The stdout of `task_id`'s sandbox under the agent's work dir `work_dir` (the first run
/// found). Panics when there is none.
pub fn task_stdout(work_dir: &Path, task_id: &str) -> String {
    std::fs::read_to_string(task_sandbox(work_dir, task_id).join("stdout"))
        .expect("stdout readable")
}

/// The sandbox of `task_id` under the agent's work dir `work_dir`: the first directory found
/// on the way to it that holds a `stdout` (the first run). Panics when there is none.
pub fn task_sandbox(work_dir: &Path, task_id: &str) -> PathBuf {
    let mut pending = vec![work_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if path.ends_with("stdout")
                && path.components().any(|c| c.as_os_str() == task_id)
            {
                return dir;
            }
        }
    }
    panic!("no sandbox for {task_id} under {}", work_dir.display());
}

/// The host pid of task `task_id`'s command: the oldest process whose environment holds
/// `MESOS_TASK_ID=task_id` and that is not Corral's own (the supervisor and the namespace
/// init are `corral`; a health check's command, which carries the same variable, starts
/// later). `None` while there is none.
pub fn task_pid(task_id: &str) -> Option<i32> {
    processes_with(&format!("MESOS_TASK_ID={task_id}"))
        .into_iter()
        .min()
        .map(|(_, pid)| pid)
}

/// The live processes, not Corral's own, whose environment holds `variable` (`NAME=value`),
/// with their start times: those of a task or an executor, found by a variable it was given.
pub fn processes_with(variable: &str) -> Vec<(u64, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            if comm.trim_end() == "corral" || !alive(pid) {
                return None;
            }
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ
                .split(|byte| *byte == 0)
                .any(|found| found == variable.as_bytes())
                .then_some(())?;
            Some((start_time(pid)?, pid))
        })
        .collect()
}

/// When `pid` started (clock ticks since boot; /proc/PID/stat's 22nd field).
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the tests run as root (only a root agent switches users and makes namespaces).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// [`task_pid`], waiting up to `secs` for the process to appear.
pub async fn await_task_pid(task_id: &str, secs: u64) -> i32 {
    let what = format!("the process of task {task_id}");
    crate::eventually(secs, &what, || async move { task_pid(task_id) }).await
}

/// Whether `pid` runs (a zombie does not count).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.contains(") Z") && !stat.contains(") X"))
}
