//! A container composing the cpu, memory and pids controllers, on a temporary root holding
//! stand-ins for the controllers' hierarchies (no root needed). The processes listed in the
//! stand-ins' cgroup.procs are made up: nothing here kills them.

use std::path::Path;

use super::*;
use crate::fake_cgroup::{self, V1_CPU, V1_MEMORY, V2_ALL, read};
use crate::v1::V1Mounts;
use crate::{Isolator, path_component};

const RELATIVE: &str = "corral/agent/c1";

fn limits() -> Limits {
    Limits {
        cpus: Some(0.5),
        mem_mb: Some(64.0),
        pids: 50,
    }
}

/// v1 hierarchies under `root`: one per controller, or cpu and cpuacct co-mounted.
fn v1_mounts(root: &Path, comounted: bool) -> V1Mounts {
    let (cpu, cpuacct) = if comounted {
        (root.join("cpu,cpuacct"), root.join("cpu,cpuacct"))
    } else {
        (root.join("cpu"), root.join("cpuacct"))
    };
    V1Mounts {
        cpu,
        cpuacct,
        memory: root.join("memory"),
        pids: root.join("pids"),
    }
}

/// The container's cgroups as the kernel makes them on v1, with some usage in them.
fn make_v1_container(mounts: &V1Mounts, relative: &Path) {
    let procs = ("cgroup.procs", "");
    fake_cgroup::make(&mounts.cpu.join(relative), &V1_CPU);
    fake_cgroup::make(&mounts.cpu.join(relative), &[procs]);
    fake_cgroup::make(
        &mounts.cpuacct.join(relative),
        &[procs, ("cpuacct.usage", "7000000\n")],
    );
    fake_cgroup::make(&mounts.memory.join(relative), &V1_MEMORY);
    fake_cgroup::make(
        &mounts.memory.join(relative),
        &[
            procs,
            ("memory.stat", "cache 4096\nrss 8192\n"),
            ("memory.oom_control", "oom_kill_disable 0\noom_kill 0\n"),
        ],
    );
    fake_cgroup::make(
        &mounts.pids.join(relative),
        &[procs, ("pids.max", "max\n"), ("pids.current", "2\n")],
    );
}

fn make_v2_container(dir: &Path) {
    fake_cgroup::make(dir, &V2_ALL);
    fake_cgroup::make(
        dir,
        &[
            ("cgroup.procs", ""),
            (
                "cpu.stat",
                "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\n",
            ),
            ("memory.stat", "anon 1024\nfile 2048\n"),
            ("memory.events", "oom 0\noom_kill 0\n"),
            ("pids.current", "1\n"),
        ],
    );
}

#[test]
fn v1_writes_each_controller_into_its_own_hierarchy() {
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), false);
    make_v1_container(&mounts, Path::new(RELATIVE));
    let hierarchy = Hierarchy::V1(mounts.clone());
    let container = Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect("made");

    let cpu = mounts.cpu.join(RELATIVE);
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
    let memory = mounts.memory.join(RELATIVE);
    assert_eq!(read(&memory, "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(&memory, "memory.memsw.limit_in_bytes"), "67108864");
    assert_eq!(read(&mounts.pids.join(RELATIVE), "pids.max"), "50");
    assert!(
        !memory.join("pids.max").exists(),
        "each file in its own hierarchy"
    );

    assert_eq!(container.version(), Version::V1);
    assert_eq!(container.memory_dir(), memory);
    assert_eq!(container.cpuacct_dir(), mounts.cpuacct.join(RELATIVE));
    assert_eq!(container.pids_dir(), mounts.pids.join(RELATIVE));
    assert_eq!(container.mem_limit_mb(), Some(64.0));
}

#[test]
fn v2_writes_every_controller_into_one_directory() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join(RELATIVE);
    make_v2_container(&dir);
    let hierarchy = Hierarchy::V2(root.path().to_path_buf());
    let container = Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect("made");
    assert_eq!(read(&dir, "cpu.weight"), "20");
    assert_eq!(read(&dir, "cpu.max"), "50000 100000");
    assert_eq!(read(&dir, "memory.max"), "67108864");
    assert_eq!(read(&dir, "memory.swap.max"), "0");
    assert_eq!(read(&dir, "pids.max"), "50");
    assert_eq!(container.version(), Version::V2);
    assert_eq!(container.memory_dir(), dir);
    assert_eq!(container.pids_dir(), dir);
}

#[test]
fn unlimited_cpu_and_memory_write_only_the_pids_limit() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join(RELATIVE);
    make_v2_container(&dir);
    let hierarchy = Hierarchy::V2(root.path().to_path_buf());
    let unlimited = Limits {
        cpus: None,
        mem_mb: None,
        pids: 7,
    };
    let container = Container::create(&hierarchy, Path::new(RELATIVE), &unlimited).expect("made");
    assert_eq!(read(&dir, "cpu.max"), "max 100000\n");
    assert_eq!(read(&dir, "memory.max"), "max\n");
    assert_eq!(read(&dir, "pids.max"), "7");
    assert_eq!(container.mem_limit_mb(), None);
}

#[test]
fn a_failed_limit_leaves_no_cgroup_behind() {
    // Directories without the kernel's files: the first write fails, and the container's
    // (empty) directories are removed again.
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), false);
    let hierarchy = Hierarchy::V1(mounts.clone());
    let err = Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect_err("fails");
    assert!(err.to_string().contains("cpu.shares"), "{err}");
    for mount in [&mounts.cpu, &mounts.cpuacct, &mounts.memory, &mounts.pids] {
        assert!(!mount.join(RELATIVE).exists(), "{} left", mount.display());
        assert!(mount.join("corral/agent").is_dir(), "the parent stays");
    }
}

#[test]
fn resize_changes_cpu_and_memory_but_not_pids() {
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), true);
    make_v1_container(&mounts, Path::new(RELATIVE));
    let hierarchy = Hierarchy::V1(mounts.clone());
    let mut container =
        Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect("made");
    let bigger = Limits {
        cpus: Some(2.0),
        mem_mb: Some(128.0),
        pids: 1,
    };
    container.resize(&bigger).expect("resized");
    assert_eq!(
        read(&mounts.cpu.join(RELATIVE), "cpu.cfs_quota_us"),
        "200000"
    );
    let memory = mounts.memory.join(RELATIVE);
    assert_eq!(read(&memory, "memory.limit_in_bytes"), "134217728");
    assert_eq!(read(&memory, "memory.memsw.limit_in_bytes"), "134217728");
    assert_eq!(read(&mounts.pids.join(RELATIVE), "pids.max"), "50");
    assert_eq!(container.mem_limit_mb(), Some(128.0));

    let cpu_only = Limits {
        cpus: Some(1.0),
        mem_mb: None,
        pids: 1,
    };
    container.resize(&cpu_only).expect("resized");
    assert_eq!(read(&mounts.cpu.join(RELATIVE), "cpu.shares"), "1024");
    assert_eq!(container.mem_limit_mb(), Some(128.0), "memory kept");
}

#[test]
fn usage_reads_each_controller_from_its_hierarchy() {
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), false);
    make_v1_container(&mounts, Path::new(RELATIVE));
    let hierarchy = Hierarchy::V1(mounts);
    let container = Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect("made");
    let usage = container.usage().expect("usage");
    assert_eq!(
        usage,
        ContainerUsage {
            cpu_time_ns: 7_000_000,
            memory: MemoryUsage {
                rss_bytes: 8192,
                cache_bytes: 4096
            },
            pids: 2,
        }
    );

    let v2_root = tempfile::tempdir().expect("temp dir");
    make_v2_container(&v2_root.path().join(RELATIVE));
    let hierarchy = Hierarchy::V2(v2_root.path().to_path_buf());
    let container = Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect("made");
    let usage = container.usage().expect("usage");
    assert_eq!(usage.cpu_time_ns, 3_000_000);
    assert_eq!(usage.memory.cache_bytes, 2048);
    assert_eq!(usage.pids, 1);

    std::fs::remove_file(v2_root.path().join(RELATIVE).join("pids.current")).expect("removed");
    let err = container.usage().expect_err("pids.current gone");
    assert!(err.to_string().contains("pids.current"), "{err}");
}

#[test]
fn oom_kills_show_in_oom_killed() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join(RELATIVE);
    make_v2_container(&dir);
    let hierarchy = Hierarchy::V2(root.path().to_path_buf());
    let container = Container::create(&hierarchy, Path::new(RELATIVE), &limits()).expect("made");
    assert!(!container.oom_killed());
    fake_cgroup::make(&dir, &[("memory.events", "oom 1\noom_kill 1\n")]);
    assert!(container.oom_killed());
    std::fs::remove_file(dir.join("memory.events")).expect("removed");
    assert!(!container.oom_killed(), "unreadable counts as not killed");
}

#[test]
fn a_process_joins_every_distinct_cgroup_once() {
    let root = tempfile::tempdir().expect("temp dir");
    let separate = v1_mounts(root.path(), false);
    make_v1_container(&separate, Path::new(RELATIVE));
    let container =
        Container::adopt(&Hierarchy::V1(separate), Path::new(RELATIVE), None).expect("adopted");
    assert_eq!(container.join_files().expect("opened").fds().len(), 4);

    let comounted_root = tempfile::tempdir().expect("temp dir");
    let comounted = v1_mounts(comounted_root.path(), true);
    make_v1_container(&comounted, Path::new(RELATIVE));
    let container =
        Container::adopt(&Hierarchy::V1(comounted), Path::new(RELATIVE), None).expect("adopted");
    assert_eq!(container.join_files().expect("opened").fds().len(), 3);

    let v2_root = tempfile::tempdir().expect("temp dir");
    make_v2_container(&v2_root.path().join(RELATIVE));
    let hierarchy = Hierarchy::V2(v2_root.path().to_path_buf());
    let container = Container::adopt(&hierarchy, Path::new(RELATIVE), None).expect("adopted");
    assert_eq!(container.join_files().expect("opened").fds().len(), 1);

    std::fs::remove_file(v2_root.path().join(RELATIVE).join("cgroup.procs")).expect("removed");
    let err = container.join_files().err().expect("no cgroup.procs");
    assert!(err.to_string().starts_with("cannot open"), "{err}");
}

#[test]
fn processes_are_listed_once_across_hierarchies() {
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), false);
    make_v1_container(&mounts, Path::new(RELATIVE));
    fake_cgroup::make(
        &mounts.cpu.join(RELATIVE),
        &[("cgroup.procs", "101\n102\n")],
    );
    fake_cgroup::make(
        &mounts.pids.join(RELATIVE),
        &[("cgroup.procs", "102\n103\n")],
    );
    let container =
        Container::adopt(&Hierarchy::V1(mounts), Path::new(RELATIVE), None).expect("adopted");
    assert_eq!(container.processes(), vec![101, 102, 103]);
}

#[test]
fn adopt_finds_what_is_left_and_destroy_removes_it() {
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), false);
    let hierarchy = Hierarchy::V1(mounts.clone());
    assert!(Container::adopt(&hierarchy, Path::new(RELATIVE), Some(64.0)).is_none());

    // Only the memory cgroup is left (empty, as cgroupfs lists a cgroup with no processes
    // to rmdir): that is enough to adopt it.
    std::fs::create_dir_all(mounts.memory.join(RELATIVE)).expect("made");
    let container = Container::adopt(&hierarchy, Path::new(RELATIVE), Some(64.0)).expect("adopted");
    assert_eq!(container.mem_limit_mb(), Some(64.0));
    assert_eq!(container.memory_dir(), mounts.memory.join(RELATIVE));
    assert!(container.processes().is_empty());
    container.destroy().expect("destroyed");
    assert!(!mounts.memory.join(RELATIVE).exists());
    assert!(Container::adopt(&hierarchy, Path::new(RELATIVE), Some(64.0)).is_none());
}

#[test]
fn the_isolator_places_containers_under_its_root_and_agent() {
    let root = tempfile::tempdir().expect("temp dir");
    let mounts = v1_mounts(root.path(), true);
    let relative = Path::new("corral").join("a_1").join("c_2");
    make_v1_container(&mounts, &relative);
    let isolator = Isolator::Cgroups {
        hierarchy: Hierarchy::V1(mounts.clone()),
        root: "corral".into(),
    };
    assert_eq!(path_component("a/1"), "a_1");
    let container = isolator
        .create("a/1", "c/2", &limits())
        .expect("made")
        .expect("a cgroup container");
    assert_eq!(container.memory_dir(), mounts.memory.join(&relative));
    assert_eq!(read(&mounts.pids.join(&relative), "pids.max"), "50");
    assert_eq!(isolator.container_relative("a/1", "c/2"), Some(relative));
    assert!(isolator.adopt("a/1", "c/2", None).is_some());
    assert!(isolator.adopt("a/1", "other", None).is_none());
}

#[test]
fn on_v2_the_isolator_enables_the_controllers_down_to_the_agent() {
    let root = tempfile::tempdir().expect("temp dir");
    let subtree = ("cgroup.subtree_control", "");
    for level in ["", "corral", "corral/agent"] {
        fake_cgroup::make(&root.path().join(level), &[subtree]);
    }
    make_v2_container(&root.path().join(RELATIVE));
    let isolator = Isolator::Cgroups {
        hierarchy: Hierarchy::V2(root.path().to_path_buf()),
        root: "corral".into(),
    };
    let container = isolator
        .create("agent", "c1", &limits())
        .expect("made")
        .expect("a cgroup container");
    for level in ["", "corral", "corral/agent"] {
        let dir = root.path().join(level);
        assert_eq!(read(&dir, "cgroup.subtree_control"), "+cpu +memory +pids");
    }
    assert_eq!(read(container.memory_dir(), "memory.max"), "67108864");

    // A level whose controllers cannot be enabled stops the creation.
    std::fs::remove_file(root.path().join("corral/agent/cgroup.subtree_control")).expect("removed");
    let err = isolator
        .create("agent", "c2", &limits())
        .expect_err("no subtree_control");
    assert!(err.to_string().contains("cgroup.subtree_control"), "{err}");
}
