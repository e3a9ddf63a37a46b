//! Tasks run as their user (issue 16; Mesos' `--switch_user`) on a real agent running as
//! root: a task runs as its command's user, else its framework's; its sandbox becomes theirs;
//! as that user it can neither move itself into the root cgroups (where it would escape its
//! limits) nor signal root's processes (the agent, the master); a user the machine does not
//! know fails the task naming them; its COMMAND health check runs as that user too;
//! `--no-switch-user` runs tasks as the agent.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use serde_json::json;

use corral_e2e::task_processes::{is_root, task_sandbox, task_stdout};
use corral_e2e::{Cluster, Framework, command_check, framework_info, task};

/// What the task tries, one line each: who it is, who owns its sandbox, whether it could
/// join a root cgroup (v1 and v2 paths) and signal init.
const PROBE: &str = "id -un; stat -c %U .; \
    for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/pids/cgroup.procs; do \
      [ -e $f ] && (echo $$ > $f) 2>/dev/null && echo escaped-cgroups; done; \
    kill -0 1 2>/dev/null && echo signalled-root; echo probed";

fn sandbox_owner(stdout: &str) -> &str {
    stdout.lines().nth(1).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_as_their_user_and_cannot_reach_what_is_root_s() {
    if !is_root() {
        eprintln!("skipped: only a root agent switches users");
        return;
    }
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:2;mem:1024;disk:1024", &[]).await;
    let work: PathBuf = cluster.dir.path().join("agent0");
    let master = cluster.master_addr.clone();
    let info = framework_info("as-nobody", json!({"user": "nobody"}));
    let mut framework = Framework::subscribe(&master, info).await;
    let offer = framework.offers(10).await.remove(0);
    let as_framework = task("as-framework", &offer, PROBE, 0.1, 32.0);
    let mut as_command = task("as-command", &offer, PROBE, 0.1, 32.0);
    as_command["command"]["user"] = json!("daemon");
    let mut as_stranger = task("as-stranger", &offer, "echo ran > ran", 0.1, 32.0);
    as_stranger["command"]["user"] = json!("no-such-user-here");
    // Healthy only when its check runs as the task's user (it records who it ran as; the
    // file is replaced whole, as the check goes on running while the test reads it).
    let mut checked = task("checked", &offer, "sleep 600", 0.1, 32.0);
    checked["health_check"] = command_check(
        "id -un > check-user.new && mv check-user.new check-user; test \"$(id -un)\" = nobody",
    );
    let tasks = vec![as_framework, as_command, as_stranger, checked];
    assert_eq!(framework.launch(&offer, tasks, 0.0).await, 202);
    let states = framework
        .task_states(
            &[
                ("as-framework", "TASK_FINISHED"),
                ("as-command", "TASK_FINISHED"),
                ("as-stranger", "TASK_FAILED"),
                ("checked", "healthy"),
            ],
            30,
        )
        .await;

    for (task_id, user) in [("as-framework", "nobody"), ("as-command", "daemon")] {
        let out = task_stdout(&work, task_id);
        assert!(out.ends_with("probed\n"), "{task_id}: {out}");
        assert_eq!(out.lines().next(), Some(user), "{task_id}: {out}");
        assert_eq!(sandbox_owner(&out), user, "{task_id}: {out}");
        assert!(!out.contains("escaped-cgroups"), "{task_id}: {out}");
        assert!(!out.contains("signalled-root"), "{task_id}: {out}");
    }
    let checked_sandbox = task_sandbox(&work, "checked");
    let check_user = std::fs::read_to_string(checked_sandbox.join("check-user")).expect("written");
    assert_eq!(check_user, "nobody\n");
    let message = states["as-stranger"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("\"no-such-user-here\" does not exist"),
        "{message}"
    );

    // The same task on an agent told not to switch runs as the agent (root).
    cluster
        .add_agent("cpus:2;mem:1024;disk:1024", &["--no-switch-user"])
        .await;
    let second = loop {
        let offers = framework.offers(10).await;
        if let Some(offer) = offers
            .into_iter()
            .find(|o| o["agent_id"] != offer["agent_id"])
        {
            break offer;
        }
    };
    let as_agent = task("as-agent", &second, "id -un", 0.1, 32.0);
    assert_eq!(framework.launch(&second, vec![as_agent], 0.0).await, 202);
    framework.task_state("as-agent", "TASK_FINISHED", 30).await;
    let out = task_stdout(&cluster.dir.path().join("agent1"), "as-agent");
    assert_eq!(out.lines().next(), Some("root"), "{out}");
    let sandbox = work.join("sandboxes");
    assert_eq!(std::fs::metadata(sandbox).expect("sandboxes").uid(), 0);
}
