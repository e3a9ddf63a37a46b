//! The device program on the real kernel: a cgroup2 directory with the program attached, a
//! forked child that joins it and opens device nodes. Needs root and a cgroup2 mount (on a
//! hybrid machine the unified one, controllers or not: device programs attach to any
//! cgroup2 directory); skipped with the reason otherwise.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::bpf_syscall::load_device_program;
use super::device_bpf::Insn;
use super::devices::{DeviceCgroup, SAFE_RULES, rule_for};
use super::{IsolationError, v2};

/// A cgroup2 directory for one test, removed at the end (its children have exited).
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(name: &str) -> Option<TestCgroup> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("skipped: device programs need root");
            return None;
        }
        let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
        let Some(mount) = v2::discover(&mounts) else {
            println!("skipped: no cgroup2 mount");
            return None;
        };
        let dir = mount.join(format!("corral-test-{}-{name}", std::process::id()));
        std::fs::create_dir(&dir).expect("test cgroup created");
        Some(TestCgroup(dir))
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn mknod(path: &Path, major: u32, minor: u32) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("path");
    // SAFETY: c is a valid C string; mknod only creates the node.
    let rc = unsafe {
        libc::mknod(
            c.as_ptr(),
            libc::S_IFCHR | 0o600,
            libc::makedev(major, minor),
        )
    };
    assert_eq!(rc, 0, "mknod {}", path.display());
}

/// Forks a child that joins `cgroup` (when given) and opens `node`; the errno of its
/// open, 0 when it succeeded.
fn open_in(cgroup: Option<&Path>, node: &Path, flags: libc::c_int) -> i32 {
    let procs = cgroup.map(|dir| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .expect("cgroup.procs")
    });
    let procs_fd = procs.as_ref().map_or(-1, |f| f.as_raw_fd());
    let path = CString::new(node.as_os_str().as_bytes()).expect("path");
    let _no_lock_tests = crate::fake_cgroup::no_child_processes();
    // SAFETY: the child calls only async-signal-safe functions (close_range, write, open,
    // __errno_location, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        unsafe {
            // The child holds copies of every descriptor until it exits: let go of all but
            // the one it needs, or it would hold, for its lifetime, the flock another test
            // of this binary just dropped (owners' sweep saw a live lock so).
            let keep = procs_fd.max(2) as libc::c_uint;
            if keep > 3 {
                libc::syscall(libc::SYS_close_range, 3_u32, keep - 1, 0_u32);
            }
            libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0_u32);
            if procs_fd >= 0 && crate::JoinFiles::join_in_child(&[procs_fd]).is_err() {
                libc::_exit(200);
            }
            let fd = libc::open(path.as_ptr(), flags | libc::O_CLOEXEC);
            libc::_exit(if fd >= 0 {
                0
            } else {
                *libc::__errno_location()
            });
        }
    }
    let mut status = 0;
    // SAFETY: pid is our child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(libc::WIFEXITED(status), "child status {status}");
    let code = libc::WEXITSTATUS(status);
    assert_ne!(code, 200, "the child could not join {cgroup:?}");
    code
}

#[test]
fn the_kernel_enforces_the_device_program() {
    let Some(cgroup) = TestCgroup::new("enforce") else {
        return;
    };
    let nodes = tempfile::tempdir().expect("temp dir");
    let (gpu0, gpu1, kmsg) = (
        nodes.path().join("nvidia0"),
        nodes.path().join("nvidia1"),
        nodes.path().join("kmsg"),
    );
    mknod(&gpu0, 195, 0);
    mknod(&gpu1, 195, 1);
    mknod(&kmsg, 1, 11);
    let mut rules: Vec<String> = SAFE_RULES.iter().map(|r| (*r).to_string()).collect();
    rules.push(rule_for(&gpu0, "rw").expect("rule"));
    rules.push(rule_for(&kmsg, "r").expect("rule"));
    assert_eq!(rules.last().map(String::as_str), Some("c 1:11 r"));

    // Outside the cgroup nothing is denied by a program: the denial below is the program's.
    assert_ne!(open_in(None, &gpu1, libc::O_RDONLY), libc::EPERM);
    assert_eq!(open_in(None, &kmsg, libc::O_WRONLY), 0);

    let devices = DeviceCgroup::attach_v2(&cgroup.0, &rules).expect("program attached");
    let inside = Some(cgroup.0.as_path());
    assert_eq!(open_in(inside, Path::new("/dev/null"), libc::O_RDWR), 0);
    // 195:0 has no driver here: the open gets past the program and fails in the driver.
    let granted = open_in(inside, &gpu0, libc::O_RDWR);
    assert_ne!(granted, libc::EPERM, "the granted node is allowed");
    assert_eq!(open_in(inside, &gpu1, libc::O_RDONLY), libc::EPERM);
    assert_eq!(open_in(inside, &kmsg, libc::O_RDONLY), 0, "r granted");
    assert_eq!(open_in(inside, &kmsg, libc::O_WRONLY), libc::EPERM, "w not");

    devices.destroy();
    assert_ne!(
        open_in(inside, &gpu1, libc::O_RDONLY),
        libc::EPERM,
        "detached"
    );
    drop(cgroup);
    let left: Vec<_> = std::fs::read_dir(v2_mount())
        .expect("cgroup2 mount")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("corral-test-{}-enforce", std::process::id()))
        })
        .collect();
    assert!(left.is_empty(), "the test cgroup is removed");
}

fn v2_mount() -> PathBuf {
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    v2::discover(&mounts).expect("cgroup2 mount")
}

#[test]
fn a_refused_program_reports_the_verifier_log() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: loading programs needs root");
        return;
    }
    // `exit` without setting r0: the verifier refuses to return an unset register.
    let exit_only = [Insn {
        code: super::device_bpf::JMP_EXIT,
        regs: 0,
        off: 0,
        imm: 0,
    }];
    let err = load_device_program(&exit_only).expect_err("refused");
    let IsolationError::Bpf { log, .. } = &err else {
        panic!("not a bpf error: {err}");
    };
    assert!(log.contains("R0"), "the verifier says why: {err}");
    assert!(err.to_string().contains("load the device program"), "{err}");
}

#[test]
fn a_bad_rule_attaches_nothing() {
    let Some(cgroup) = TestCgroup::new("bad-rule") else {
        return;
    };
    let err =
        DeviceCgroup::attach_v2(&cgroup.0, &["c 195:zero rw".to_string()]).expect_err("refused");
    assert!(err.to_string().contains("195:zero"), "{err}");
}

/// The agent's entry point, on a machine whose only cgroup hierarchy is v2: the container's
/// cgroup gets the safe set plus the granted node, and nothing else.
#[test]
fn create_attaches_the_program_to_a_v2_container_cgroup() {
    let Some(cgroup) = TestCgroup::new("create") else {
        return;
    };
    let mount = v2_mount();
    let relative = cgroup.0.strip_prefix(&mount).expect("below the mount");
    let mounts = format!("cgroup2 {} cgroup2 rw,relatime 0 0\n", mount.display());
    let nodes = tempfile::tempdir().expect("temp dir");
    let (gpu0, gpu1) = (nodes.path().join("nvidia0"), nodes.path().join("nvidia1"));
    mknod(&gpu0, 195, 0);
    mknod(&gpu1, 195, 1);
    let granted = vec![rule_for(&gpu0, "rwm").expect("rule")];
    let devices =
        DeviceCgroup::create_with_mounts(&mounts, relative, &granted).expect("program attached");
    assert!(
        devices.join_file().expect("no v1 cgroup").is_none(),
        "the process joins the container's own v2 cgroup"
    );
    let inside = Some(cgroup.0.as_path());
    assert_eq!(open_in(inside, Path::new("/dev/null"), libc::O_RDWR), 0);
    assert_eq!(open_in(inside, Path::new("/dev/zero"), libc::O_RDONLY), 0);
    assert_ne!(open_in(inside, &gpu0, libc::O_RDWR), libc::EPERM);
    assert_eq!(open_in(inside, &gpu1, libc::O_RDWR), libc::EPERM);
    devices.destroy();
}
