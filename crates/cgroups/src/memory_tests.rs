//! The memory controller on a temporary directory standing in for the cgroup (no root).

use super::*;
use crate::fake_cgroup::{self, V1_MEMORY, V2_ALL, read};

const MB_64: &str = "67108864";

fn mem(mem_mb: Option<f64>) -> Limits {
    Limits {
        cpus: None,
        mem_mb,
        pids: 10,
    }
}

#[test]
fn megabytes_become_bytes() {
    assert_eq!(limit_bytes(64.0), 67_108_864);
    assert_eq!(limit_bytes(0.5), 524_288);
    assert_eq!(limit_bytes(4.0), 4 << 20);
}

#[test]
fn v1_limits_memory_and_memory_plus_swap() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &V1_MEMORY);
    Memory::apply(Version::V1, dir.path(), &mem(Some(64.0))).expect("applied");
    assert_eq!(read(dir.path(), "memory.limit_in_bytes"), MB_64);
    assert_eq!(read(dir.path(), "memory.memsw.limit_in_bytes"), MB_64);

    // Raised (memsw first) and lowered again (memory first): both end at the new limit.
    Memory::apply(Version::V1, dir.path(), &mem(Some(128.0))).expect("raised");
    assert_eq!(read(dir.path(), "memory.limit_in_bytes"), "134217728");
    assert_eq!(read(dir.path(), "memory.memsw.limit_in_bytes"), "134217728");
    Memory::apply(Version::V1, dir.path(), &mem(Some(64.0))).expect("lowered");
    assert_eq!(read(dir.path(), "memory.limit_in_bytes"), MB_64);
    assert_eq!(read(dir.path(), "memory.memsw.limit_in_bytes"), MB_64);
}

#[test]
fn v1_without_swap_accounting_writes_only_the_memory_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &[("memory.limit_in_bytes", "0\n")]);
    Memory::apply(Version::V1, dir.path(), &mem(Some(64.0))).expect("applied");
    assert_eq!(read(dir.path(), "memory.limit_in_bytes"), MB_64);
    assert!(!dir.path().join("memory.memsw.limit_in_bytes").exists());
}

#[test]
fn memsw_is_never_below_the_memory_limit() {
    let both_lowering = [V1_LIMIT, V1_MEMSW_LIMIT];
    assert_eq!(
        v1_limit_files(None, 100, true),
        both_lowering,
        "the first limit"
    );
    assert_eq!(v1_limit_files(Some(200), 100, true), both_lowering);
    assert_eq!(v1_limit_files(Some(100), 100, true), both_lowering);
    assert_eq!(
        v1_limit_files(Some(50), 100, true),
        [V1_MEMSW_LIMIT, V1_LIMIT],
        "raising"
    );
    assert_eq!(v1_limit_files(Some(50), 100, false), [V1_LIMIT]);
}

#[test]
fn v2_limits_memory_and_turns_swap_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &V2_ALL);
    Memory::apply(Version::V2, dir.path(), &mem(Some(64.0))).expect("applied");
    assert_eq!(read(dir.path(), "memory.max"), MB_64);
    assert_eq!(read(dir.path(), "memory.swap.max"), "0");
    assert!(
        !dir.path().join("memory.limit_in_bytes").exists(),
        "no v1 file"
    );

    let no_swap = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(no_swap.path(), &[("memory.max", "max\n")]);
    Memory::apply(Version::V2, no_swap.path(), &mem(Some(0.5))).expect("applied");
    assert_eq!(read(no_swap.path(), "memory.max"), "524288");
    assert!(!no_swap.path().join("memory.swap.max").exists());
}

#[test]
fn no_memory_limit_leaves_the_files_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &V2_ALL);
    Memory::apply(Version::V2, dir.path(), &mem(None)).expect("nothing to apply");
    assert_eq!(read(dir.path(), "memory.max"), "max\n");
    assert_eq!(read(dir.path(), "memory.swap.max"), "max\n");
}

#[test]
fn a_missing_limit_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    for version in [Version::V1, Version::V2] {
        let err = Memory::apply(version, dir.path(), &mem(Some(64.0))).expect_err("no file");
        let name = match version {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        };
        assert!(err.to_string().contains(name), "{err}");
        assert!(matches!(
            err,
            IsolationError::Io {
                op: "cannot write",
                ..
            }
        ));
    }
}

#[test]
fn usage_is_rss_and_cache_from_memory_stat() {
    let v1 = tempfile::tempdir().expect("temp dir");
    let stat = "cache 4096\nrss 8192\nrss_huge 0\nmapped_file 0\n";
    fake_cgroup::make(v1.path(), &[("memory.stat", stat)]);
    let usage = Memory::usage(Version::V1, v1.path()).expect("read");
    assert_eq!(
        usage,
        MemoryUsage {
            rss_bytes: 8192,
            cache_bytes: 4096
        }
    );

    let v2 = tempfile::tempdir().expect("temp dir");
    let stat = "anon 1024\nfile 2048\nkernel_stack 16384\nanon_thp 0\n";
    fake_cgroup::make(v2.path(), &[("memory.stat", stat)]);
    let usage = Memory::usage(Version::V2, v2.path()).expect("read");
    assert_eq!((usage.rss_bytes, usage.cache_bytes), (1024, 2048));
}

#[test]
fn unreadable_usage_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = Memory::usage(Version::V2, dir.path()).expect_err("no memory.stat");
    assert!(matches!(
        missing,
        IsolationError::Io {
            op: "cannot read",
            ..
        }
    ));

    fake_cgroup::make(dir.path(), &[("memory.stat", "anon 1024\n")]);
    match Memory::usage(Version::V2, dir.path()) {
        Err(IsolationError::MissingKey { key, .. }) => assert_eq!(key, "file"),
        other => panic!("expected a missing key, got {other:?}"),
    }
    fake_cgroup::make(dir.path(), &[("memory.stat", "anon 1k\nfile 0\n")]);
    match Memory::usage(Version::V2, dir.path()) {
        Err(IsolationError::Parse { text, .. }) => assert_eq!(text, "1k"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn total_is_usage_in_bytes_or_current() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(
        dir.path(),
        &[
            ("memory.usage_in_bytes", "12288\n"),
            ("memory.current", "4096\n"),
        ],
    );
    assert_eq!(total_bytes(Version::V1, dir.path()).expect("read"), 12288);
    assert_eq!(total_bytes(Version::V2, dir.path()).expect("read"), 4096);

    fake_cgroup::make(dir.path(), &[("memory.current", "max\n")]);
    let err = total_bytes(Version::V2, dir.path()).expect_err("not a number");
    assert!(
        err.to_string().contains("unexpected content \"max\\n\""),
        "{err}"
    );
}

#[test]
fn oom_kills_are_counted_in_oom_control_or_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(
        dir.path(),
        &[
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
            ),
            ("memory.events", "low 0\nhigh 0\nmax 7\noom 3\noom_kill 1\n"),
        ],
    );
    assert_eq!(oom_kills(Version::V1, dir.path()).expect("read"), 2);
    assert_eq!(oom_kills(Version::V2, dir.path()).expect("read"), 1);

    // Kernels before 4.13 have no oom_kill line in v1's oom_control.
    fake_cgroup::make(dir.path(), &[("memory.oom_control", "under_oom 0\n")]);
    let err = oom_kills(Version::V1, dir.path()).expect_err("no counter");
    assert!(matches!(err, IsolationError::MissingKey { .. }), "{err}");
}
