//! Stand-ins for cgroup directories in tests that run without root: a plain directory with
//! the files the kernel would have made (writes never create files, as on cgroupfs).

use std::path::Path;

/// Makes `dir` (and its parents) holding `files`, each with its content.
pub fn make(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("cgroup stand-in made");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("cgroup file written");
    }
}

/// What a file of the stand-in holds now.
pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{} unreadable: {e}", dir.join(name).display()))
}

/// The v1 cpu files, as a fresh cgroup has them.
pub const V1_CPU: [(&str, &str); 3] = [
    ("cpu.shares", "1024\n"),
    ("cpu.cfs_period_us", "100000\n"),
    ("cpu.cfs_quota_us", "-1\n"),
];

/// The v1 memory files, as a fresh cgroup on a kernel with swap accounting has them.
pub const V1_MEMORY: [(&str, &str); 2] = [
    ("memory.limit_in_bytes", "9223372036854771712\n"),
    ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
];

/// The v2 files of cpu, memory and pids, as a fresh cgroup has them.
pub const V2_ALL: [(&str, &str); 5] = [
    ("cpu.weight", "100\n"),
    ("cpu.max", "max 100000\n"),
    ("memory.max", "max\n"),
    ("memory.swap.max", "max\n"),
    ("pids.max", "max\n"),
];

/// Held by tests that start child processes and by tests that let go of a `flock` and expect
/// it free at once: a child holds copies of this process's descriptors, with their locks,
/// until it execs or exits (an owners test once saw a dropped lock still held so).
pub static CHILD_PROCESSES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`CHILD_PROCESSES`] (a test that panicked while holding it leaves it usable).
pub fn no_child_processes() -> std::sync::MutexGuard<'static, ()> {
    CHILD_PROCESSES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
