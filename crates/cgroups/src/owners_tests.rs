//! The sweep of other agents' hierarchies: on stand-in directories (the decision), then on
//! the machine's real v1 hierarchies (as root; skipped with the reason otherwise).

use std::path::{Path, PathBuf};

use super::*;
use crate::{fake_cgroup, v1};

/// Agents' hierarchies under `root` in every mount: `(agent, busy)`; a busy one holds a
/// process in a container cgroup below it, in the first mount.
fn layout(mounts: &[&Path], root: &Path, agents: &[(&str, bool)]) {
    for (agent, busy) in agents {
        for (i, mount) in mounts.iter().enumerate() {
            let container = mount.join(root).join(agent).join("container-1");
            let procs = if *busy && i == 0 { "4242\n" } else { "" };
            if procs.is_empty() {
                std::fs::create_dir_all(&container).expect("dirs");
            } else {
                fake_cgroup::make(&container, &[("cgroup.procs", procs)]);
            }
        }
    }
}

#[test]
fn only_hierarchies_of_agents_not_running_and_holding_nothing_are_removed() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (memory, cpu) = (temp.path().join("memory"), temp.path().join("cpu"));
    let mounts = [memory.as_path(), cpu.as_path()];
    let root = Path::new("corral");
    let locks = temp.path().join("locks");
    layout(
        &mounts,
        root,
        &[
            ("me", false),
            ("live", false),
            ("dead-empty", false),
            ("dead-busy", true),
            (UNREGISTERED, false),
        ],
    );
    let _no_children = fake_cgroup::no_child_processes();
    let live = claim(&locks, "live").expect("the live agent's lock");

    let swept = sweep(&mounts, root, &locks, "me");

    let under = |mount: &Path, agent: &str| mount.join(root).join(agent);
    assert_eq!(
        swept.removed,
        vec![under(&memory, "dead-empty"), under(&cpu, "dead-empty")]
    );
    assert_eq!(
        swept.busy,
        vec![under(&memory, "dead-busy"), under(&cpu, "dead-busy")],
        "a process below it keeps the whole hierarchy"
    );
    for mount in mounts {
        for kept in ["me", "live", "dead-busy", UNREGISTERED] {
            assert!(under(mount, kept).is_dir(), "{kept} in {}", mount.display());
        }
        assert!(!under(mount, "dead-empty").exists());
    }
    assert!(
        !locks.join("dead-empty").exists(),
        "its lock file went with it"
    );
    assert!(live.path().exists());

    // Once the live agent stops (its lock dropped), its empty hierarchy is swept too.
    drop(live);
    let swept = sweep(&mounts, root, &locks, "me");
    assert_eq!(
        swept.removed,
        vec![under(&memory, "live"), under(&cpu, "live")]
    );
}

#[test]
fn a_claim_after_a_sweep_removed_the_lock_file_holds_a_new_one() {
    let temp = tempfile::tempdir().expect("temp dir");
    let locks = temp.path().join("locks");
    let first = claim(&locks, "a1").expect("claimed");
    first.remove();
    assert!(!locks.join("a1").exists());
    let again = claim(&locks, "a1").expect("claimed again");
    assert!(again.path().exists());
    assert!(
        try_claim(&locks, "a1").expect("tried").is_none(),
        "held by its agent"
    );
}

/// The machine's v1 memory, cpu and pids hierarchies, if this test may use them.
fn real_v1_mounts() -> Option<Vec<PathBuf>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: real cgroups need root");
        return None;
    }
    let text = std::fs::read_to_string("/proc/self/mounts").ok()?;
    match v1::discover(&text) {
        Ok(m) => Some(vec![m.memory, m.cpu, m.pids]),
        Err(e) => {
            println!("skipped: no cgroup v1 hierarchies ({e})");
            None
        }
    }
}

/// Three agents' real hierarchies: one whose agent runs (its lock held), one whose agent
/// is gone and that is empty, one whose agent is gone with a process in it. Only the
/// second is removed.
#[test]
fn real_hierarchies_of_a_live_agent_and_a_busy_one_stay() {
    let Some(mounts) = real_v1_mounts() else {
        return;
    };
    let mounts: Vec<&Path> = mounts.iter().map(PathBuf::as_path).collect();
    let root = PathBuf::from(format!("corral-owners-test-{}", std::process::id()));
    let locks = tempfile::tempdir().expect("temp dir");
    for agent in ["live", "dead-empty", "dead-busy"] {
        for mount in &mounts {
            std::fs::create_dir_all(mount.join(&root).join(agent).join("container-1"))
                .expect("cgroup made");
        }
    }
    let live = claim(locks.path(), "live").expect("the live agent's lock");
    let mut sleeper = {
        let _no_lock_tests = fake_cgroup::no_child_processes();
        std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("spawn sleep")
    };
    let busy_procs = mounts[0]
        .join(&root)
        .join("dead-busy/container-1")
        .join("cgroup.procs");
    std::fs::write(&busy_procs, sleeper.id().to_string()).expect("process moved in");

    let swept = sweep(&mounts, &root, locks.path(), "me");

    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let exists: Vec<(String, bool)> = ["live", "dead-empty", "dead-busy"]
        .iter()
        .map(|a| {
            (
                a.to_string(),
                mounts.iter().all(|m| m.join(&root).join(a).is_dir()),
            )
        })
        .collect();
    // Clean up before asserting: the sleeper is gone, so everything can go.
    drop(live);
    for mount in &mounts {
        for agent in ["live", "dead-empty", "dead-busy"] {
            let _ = remove_tree(&mount.join(&root).join(agent));
        }
        let _ = std::fs::remove_dir(mount.join(&root));
    }
    assert_eq!(
        exists,
        vec![
            ("live".to_string(), true),
            ("dead-empty".to_string(), false),
            ("dead-busy".to_string(), true),
        ]
    );
    assert_eq!(swept.removed.len(), mounts.len(), "{swept:?}");
}
