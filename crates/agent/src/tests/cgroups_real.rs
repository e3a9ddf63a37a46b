//! The isolator (corral-cgroups) on this machine's real cgroups, with processes spawned as the
//! agent spawns them (as root, which CI is): limits hold, usage is
//! read, and nothing is left behind. Each test uses its own cgroup root.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corral_cgroups::*;

use crate::processes;
use corral_api::v1::CommandInfo;

/// An isolator under a root of its own; removes the root when dropped.
struct TestCgroups {
    isolator: Isolator,
    root: PathBuf,
}

impl Drop for TestCgroups {
    fn drop(&mut self) {
        self.isolator.release("agent");
    }
}

/// `None` (the test is skipped, saying so) when not root: cgroups need it.
fn cgroups() -> Option<TestCgroups> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: cgroup tests need root");
        return None;
    }
    let root = PathBuf::from(format!("corral-test-{}", uuid::Uuid::new_v4()));
    let config = IsolationConfig {
        mode: IsolationMode::Cgroups,
        cgroup_root: root.clone(),
        pids_limit: 50,
    };
    let isolator = Isolator::start(&config).expect("root can use cgroups here");
    Some(TestCgroups { isolator, root })
}

fn limits(resources: &str, pids: u64) -> Limits {
    let list = corral_api::resources::parse_resources(resources).expect("resources parse");
    Limits::for_task(&list, pids).expect("valid limits")
}

fn shell(command: &str) -> CommandInfo {
    CommandInfo {
        shell: Some(true),
        value: Some(command.to_string()),
        ..Default::default()
    }
}

async fn run_in(
    container: &Container,
    sandbox: &Path,
    command: &str,
) -> (tokio::process::Child, u32) {
    let env = processes::TaskEnvironment {
        sandbox: sandbox.display().to_string(),
        task_id: "t".into(),
        framework_id: "f".into(),
        agent_id: "a".into(),
        container_id: "c".into(),
    };
    let join = container.join_files().expect("cgroup.procs opens");
    processes::spawn(&shell(command), sandbox, &env, Some(&join), None).expect("spawns")
}

/// Container cgroups left under the test's root, found by listing every cgroup mount under
/// /sys/fs/cgroup (and the v2 root itself) independently of the isolator's own bookkeeping.
fn cgroup_dirs_left(t: &TestCgroups) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mounts = std::fs::read_dir(base)
        .into_iter()
        .flat_map(|entries| entries.flatten())
        .map(|e| e.path())
        .chain(std::iter::once(base.to_path_buf()));
    mounts
        .flat_map(|m| std::fs::read_dir(m.join(&t.root).join("agent")).into_iter())
        .flat_map(|entries| entries.flatten())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

#[test]
fn memory_below_the_floor_is_refused() {
    let list = corral_api::resources::parse_resources("cpus:1;mem:2").expect("parses");
    let err = Limits::for_task(&list, 10).expect_err("2 MB is too little");
    assert!(err.contains("minimum of 4 MB"), "{err}");
    let list = corral_api::resources::parse_resources("cpus:1").expect("parses");
    assert_eq!(
        Limits::for_task(&list, 10).expect("no mem is fine").mem_mb,
        None
    );
}

#[tokio::test]
async fn a_process_joins_before_it_runs_and_the_cgroup_goes_away() {
    let Some(t) = cgroups() else { return };
    let sandbox = tempfile::tempdir().expect("temp dir");
    let container = t
        .isolator
        .create("agent", "c1", &limits("cpus:1;mem:64", 50))
        .expect("created")
        .expect("a cgroup container");
    let limit = std::fs::read_to_string(container.memory_dir().join(match container.version() {
        Version::V1 => "memory.limit_in_bytes",
        Version::V2 => "memory.max",
    }))
    .expect("limit readable");
    assert_eq!(limit.trim(), (64 * 1024 * 1024).to_string());
    // The command reads its own cgroup: it was in it from its first instruction. (`sleep`
    // first, so that two processes run whenever the cgroup's line has been printed.)
    let (child, pid) = run_in(
        &container,
        sandbox.path(),
        "sleep 30 & cat /proc/self/cgroup; wait",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(sandbox.path().join("stdout")).is_ok_and(|s| s.contains("c1")) {
        assert!(
            Instant::now() < deadline,
            "the task never printed its cgroup"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(container.processes().contains(&(pid as i32)));
    let usage = container.usage().expect("usage readable");
    assert!(usage.pids >= 2, "sh and sleep: {usage:?}");
    assert!(
        usage.memory.rss_bytes + usage.memory.cache_bytes > 0,
        "{usage:?}"
    );
    assert!(!container.oom_killed());

    container.destroy().expect("destroyed");
    let exit = processes::wait(child).await;
    assert_eq!(exit.signal, Some(libc::SIGKILL));
    assert_eq!(cgroup_dirs_left(&t), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn half_a_cpu_gets_about_half_a_core() {
    let Some(t) = cgroups() else { return };
    let sandbox = tempfile::tempdir().expect("temp dir");
    let container = t
        .isolator
        .create("agent", "busy", &limits("cpus:0.5;mem:64", 50))
        .expect("created")
        .expect("a cgroup container");
    let (child, _) = run_in(&container, sandbox.path(), "while :; do :; done").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The clock starts first, so the measured time always covers the usage read.
    let started = Instant::now();
    let before = container.usage().expect("usage").cpu_time_ns;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = container.usage().expect("usage").cpu_time_ns - before;
    let share = used as f64 / started.elapsed().as_nanos() as f64;
    container.destroy().expect("destroyed");
    processes::wait(child).await;
    // Capped near half a core; the lower bound only shows the usage was measured, as a busy
    // machine may give the loop much less than its cap.
    assert!(
        (0.05..=0.7).contains(&share),
        "a busy loop with cpus 0.5 used {share:.2} of a core"
    );
    assert_eq!(cgroup_dirs_left(&t), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_fork_bomb_stops_at_the_pids_limit() {
    let Some(t) = cgroups() else { return };
    let sandbox = tempfile::tempdir().expect("temp dir");
    let container = t
        .isolator
        .create("agent", "bomb", &limits("cpus:1;mem:128", 50))
        .expect("created")
        .expect("a cgroup container");
    let (child, _) = run_in(
        &container,
        sandbox.path(),
        "for i in $(seq 300); do sleep 5 & done; wait",
    )
    .await;
    // Watched until the bomb reached the limit and a fork was refused (10 s at most, for a
    // loaded machine), never above the limit meanwhile.
    let mut highest = 0;
    let mut stderr = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let now = pids::current(container.pids_dir()).expect("pids.current");
        assert!(now <= 50, "{now} processes, above the limit of 50");
        highest = highest.max(now);
        stderr = std::fs::read_to_string(sandbox.path().join("stderr")).expect("stderr");
        if highest >= 45 && (stderr.contains("fork") || stderr.contains("esource")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    container.destroy().expect("destroyed");
    processes::wait(child).await;
    assert!(highest >= 45, "the bomb only reached {highest} processes");
    assert!(
        stderr.contains("fork") || stderr.contains("esource"),
        "{stderr}"
    );
    assert_eq!(cgroup_dirs_left(&t), Vec::<PathBuf>::new());
}
