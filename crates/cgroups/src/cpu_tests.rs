//! The cpu controller on a temporary directory standing in for the cgroup (no root).

use super::*;
use crate::fake_cgroup::{self, V1_CPU, V2_ALL, read};

fn cpus(cpus: Option<f64>) -> Limits {
    Limits {
        cpus,
        mem_mb: None,
        pids: 10,
    }
}

fn error_kind(error: IsolationError) -> std::io::ErrorKind {
    match error {
        IsolationError::Io { source, .. } => source.kind(),
        other => panic!("not an I/O error: {other}"),
    }
}

#[test]
fn limits_follow_cpus() {
    assert_eq!(shares(0.5), 512);
    assert_eq!(shares(2.0), 2048);
    assert_eq!(shares(0.0001), 2);
    assert_eq!(quota_us(0.5), 50_000);
    assert_eq!(quota_us(0.001), 1_000);
    assert_eq!(weight(1024), 39);
    assert_eq!(weight(2), 1);
    assert_eq!(weight(262_144), 10_000);
}

#[test]
fn v1_writes_shares_period_and_quota() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &V1_CPU);
    Cpu::apply(Version::V1, dir.path(), &cpus(Some(0.5))).expect("applied");
    assert_eq!(read(dir.path(), "cpu.shares"), "512");
    assert_eq!(read(dir.path(), "cpu.cfs_period_us"), "100000");
    assert_eq!(read(dir.path(), "cpu.cfs_quota_us"), "50000");

    Cpu::apply(Version::V1, dir.path(), &cpus(Some(2.0))).expect("applied");
    assert_eq!(read(dir.path(), "cpu.shares"), "2048");
    assert_eq!(read(dir.path(), "cpu.cfs_quota_us"), "200000");
}

#[test]
fn v2_writes_weight_and_max() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &V2_ALL);
    Cpu::apply(Version::V2, dir.path(), &cpus(Some(0.5))).expect("applied");
    assert_eq!(
        read(dir.path(), "cpu.weight"),
        "20",
        "shares 512 as a weight"
    );
    assert_eq!(read(dir.path(), "cpu.max"), "50000 100000");
    assert!(!dir.path().join("cpu.shares").exists(), "no v1 file on v2");
}

#[test]
fn no_cpus_leaves_the_files_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &V1_CPU);
    Cpu::apply(Version::V1, dir.path(), &cpus(None)).expect("nothing to apply");
    assert_eq!(read(dir.path(), "cpu.shares"), "1024\n");
    assert_eq!(read(dir.path(), "cpu.cfs_quota_us"), "-1\n");
    // Not even the files need be there.
    let empty = tempfile::tempdir().expect("temp dir");
    Cpu::apply(Version::V2, empty.path(), &cpus(None)).expect("nothing to apply");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(dir.path(), &[("cpu.shares", "1024\n")]);
    let err = Cpu::apply(Version::V1, dir.path(), &cpus(Some(1.0))).expect_err("no cfs files");
    assert!(err.to_string().contains("cpu.cfs_period_us"), "{err}");
    assert_eq!(error_kind(err), std::io::ErrorKind::NotFound);
    assert!(
        !dir.path().join("cpu.cfs_period_us").exists(),
        "a write never makes a cgroup file"
    );
}

#[test]
fn usage_is_nanoseconds_from_cpuacct_or_cpu_stat() {
    let v1 = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(v1.path(), &[("cpuacct.usage", "123456789\n")]);
    assert_eq!(
        Cpu::usage(Version::V1, v1.path()).expect("read"),
        123_456_789
    );

    let v2 = tempfile::tempdir().expect("temp dir");
    let stat = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n";
    fake_cgroup::make(v2.path(), &[("cpu.stat", stat)]);
    assert_eq!(Cpu::usage(Version::V2, v2.path()).expect("read"), 1_500_000);
}

#[test]
fn unreadable_usage_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = Cpu::usage(Version::V1, dir.path()).expect_err("no cpuacct.usage");
    assert!(missing.to_string().contains("cpuacct.usage"), "{missing}");
    assert_eq!(error_kind(missing), std::io::ErrorKind::NotFound);

    fake_cgroup::make(dir.path(), &[("cpuacct.usage", "lots\n")]);
    match Cpu::usage(Version::V1, dir.path()) {
        Err(IsolationError::Parse { path, text }) => {
            assert!(path.ends_with("cpuacct.usage"));
            assert_eq!(text, "lots\n");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }

    fake_cgroup::make(dir.path(), &[("cpu.stat", "user_usec 1\n")]);
    match Cpu::usage(Version::V2, dir.path()) {
        Err(IsolationError::MissingKey { key, .. }) => assert_eq!(key, "usage_usec"),
        other => panic!("expected a missing key, got {other:?}"),
    }
    fake_cgroup::make(dir.path(), &[("cpu.stat", "usage_usec -3\n")]);
    match Cpu::usage(Version::V2, dir.path()) {
        Err(IsolationError::Parse { text, .. }) => assert_eq!(text, "-3"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn times_are_seconds_from_ticks_or_microseconds() {
    let v1 = tempfile::tempdir().expect("temp dir");
    fake_cgroup::make(v1.path(), &[("cpuacct.stat", "user 250\nsystem 50\n")]);
    let t = times(Version::V1, v1.path(), 100.0).expect("read");
    assert_eq!((t.user_secs, t.system_secs), (2.5, 0.5));

    let v2 = tempfile::tempdir().expect("temp dir");
    let stat = "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n";
    fake_cgroup::make(v2.path(), &[("cpu.stat", stat)]);
    let t = times(Version::V2, v2.path(), 100.0).expect("read");
    assert_eq!((t.user_secs, t.system_secs), (2.0, 1.0));

    fake_cgroup::make(v2.path(), &[("cpu.stat", "user_usec 5\n")]);
    let err = times(Version::V2, v2.path(), 100.0).expect_err("no system_usec");
    assert!(err.to_string().contains("no system_usec line"), "{err}");
}
