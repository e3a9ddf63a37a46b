//! A task that must run as root still cannot reach the cgroup filesystem or the agent's
//! process (issue 16): on a real agent running as root, a root task runs in PID and mount
//! namespaces of its own, cannot see or signal the agent, cannot write the cgroup
//! filesystem nor remount it, cannot mount anything (so not uncover the host's `/proc`
//! under its own), and has no CAP_SYS_ADMIN; its COMMAND health check runs in its
//! namespaces, as confined; its exit status, a kill, and the end of what it left running
//! behave as for any task. `--no-task-namespaces` gives root tasks the agent's namespaces back.

use serde_json::json;

use corral_e2e::task_processes::{is_root, processes_with, task_sandbox, task_stdout};
use corral_e2e::{Cluster, Framework, command_check, framework_info, task};

/// What a root task can see of the agent (`AGENT`: its host pid) and its capabilities;
/// harmless where nothing confines the task.
const LOOK: &str =
    "[ -e /proc/AGENT ] && echo sees-agent; grep CapBnd /proc/self/status; echo probed";

/// What the task tries, one line each; `AGENT` is replaced by the agent's host pid. Each
/// try is harmless should it succeed (a regression must not damage the machine).
const PROBE: &str = "echo pid=$$; \
    for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/pids/cgroup.procs; do \
      [ -e $f ] && (echo $$ > $f) 2>/dev/null && echo escaped-cgroups; done; \
    for m in /sys/fs/cgroup/pids /sys/fs/cgroup; do \
      mount -o remount,rw $m 2>/dev/null && echo remounted-$m; done; \
    mkdir -p m && mount -t tmpfs tmpfs m 2>/dev/null && { echo mounted; umount m; }; \
    [ -e /proc/AGENT ] && echo sees-agent; \
    kill -0 AGENT 2>/dev/null && echo signalled-agent; \
    cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname 2>/dev/null && echo wrote-sysctl; \
    grep CapBnd /proc/self/status; echo probed";

/// A root task whose COMMAND health check records where it ran (`check.out` in the
/// sandbox, replaced whole as the checks go on while the test reads it) and is healthy only
/// when it cannot see the agent (`agent`: its host pid).
fn checked_task(offer: &serde_json::Value, agent: u32) -> serde_json::Value {
    let mut checked = task("checked", offer, "sleep 600", 0.1, 32.0);
    let look = format!(
        "{{ echo pid=$$; [ -e /proc/{agent} ] && echo sees-agent; \
           grep CapBnd /proc/self/status; }} > check.new && mv check.new check.out; \
           test ! -e /proc/{agent}"
    );
    checked["health_check"] = command_check(&look);
    checked
}

/// A root task whose COMMAND health check hangs: each attempt is cut at its 1 s timeout
/// (its process inside the namespace too), and three of them kill the task.
fn stuck_check_task(offer: &serde_json::Value) -> serde_json::Value {
    let mut stuck = task("stuck-check", offer, "sleep 600", 0.1, 32.0);
    stuck["health_check"] = command_check("STUCK_CHECK=1 exec sleep 607");
    stuck["health_check"]["timeout_seconds"] = json!(1.0);
    stuck
}

/// Whether the bounding set printed by the probe (`CapBnd:\t<hex>`) holds CAP_SYS_ADMIN (21).
fn has_sys_admin(out: &str) -> bool {
    let hex = out
        .lines()
        .find_map(|line| line.strip_prefix("CapBnd:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no CapBnd line: {out}"));
    let bits = u64::from_str_radix(hex, 16).expect("hex capability set");
    bits & (1 << 21) != 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_task_cannot_reach_the_agent_or_the_cgroup_filesystem() {
    if !is_root() {
        eprintln!("skipped: only a root agent makes namespaces");
        return;
    }
    let mut cluster = Cluster::master(&[]).await;
    cluster.add_agent("cpus:2;mem:1024;disk:1024", &[]).await;
    let work = cluster.dir.path().join("agent0");
    let probe = PROBE.replace("AGENT", &cluster.agents[0].pid().to_string());
    let mut framework =
        Framework::subscribe(&cluster.master_addr, framework_info("root", json!({}))).await;
    let offer = framework.offers(10).await.remove(0);
    let tasks = vec![
        task("probe", &offer, &probe, 0.1, 32.0),
        task("exits-3", &offer, "exit 3", 0.1, 32.0),
        task("sleeps", &offer, "sleep 600", 0.1, 32.0),
        // Leaves a process behind and ends: the namespace's end takes the process with it.
        task("orphans", &offer, "sleep 613 & exit 0", 0.1, 32.0),
        checked_task(&offer, cluster.agents[0].pid()),
        stuck_check_task(&offer),
    ];
    assert_eq!(framework.launch(&offer, tasks, 0.0).await, 202);
    let states = framework
        .task_states(
            &[
                ("probe", "TASK_FINISHED"),
                ("exits-3", "TASK_FAILED"),
                ("sleeps", "TASK_RUNNING"),
                ("orphans", "TASK_FINISHED"),
                ("checked", "healthy"),
                ("stuck-check", "TASK_KILLED"),
            ],
            60,
        )
        .await;
    let check = std::fs::read_to_string(task_sandbox(&work, "checked").join("check.out"))
        .expect("the check wrote check.out in the sandbox");
    let pid: u32 = check
        .lines()
        .find_map(|l| l.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid line: {check}"));
    // The namespace has had a handful of processes: the init, the task, its checks.
    assert!(
        pid < 100,
        "the check ran outside the task's PID namespace: {check}"
    );
    assert!(!check.contains("sees-agent"), "{check}");
    assert!(
        !has_sys_admin(&check),
        "the check kept CAP_SYS_ADMIN: {check}"
    );

    assert_eq!(states["stuck-check"]["healthy"], false, "{states:?}");
    corral_e2e::eventually(10, "the timed-out checks' processes to end", || async {
        processes_with("STUCK_CHECK=1").is_empty().then_some(())
    })
    .await;

    let kill = json!({
        "type": "KILL",
        "kill": {"task_id": {"value": "sleeps"}, "agent_id": offer["agent_id"]},
    });
    assert_eq!(framework.call(kill).await.0, 202);
    framework.task_state("sleeps", "TASK_KILLED", 30).await;

    let out = task_stdout(&work, "probe");
    assert!(out.ends_with("probed\n"), "{out}");
    // pid 1 is the namespace's init; the task's shell comes next.
    assert_eq!(out.lines().next(), Some("pid=2"), "{out}");
    for escape in [
        "escaped-cgroups",
        "remounted",
        "mounted",
        "sees-agent",
        "signalled-agent",
        "wrote-sysctl",
    ] {
        assert!(!out.contains(escape), "{escape}: {out}");
    }
    assert!(!has_sys_admin(&out), "CAP_SYS_ADMIN kept: {out}");
    let failed = states["exits-3"]["message"].as_str().unwrap_or_default();
    assert!(
        failed.contains('3'),
        "the exit status reaches the status: {failed}"
    );
    // Found by the task id it inherited, as the task's own process would be.
    corral_e2e::eventually(10, "the orphaned sleep to end with its task", || async {
        processes_with("MESOS_TASK_ID=orphans")
            .is_empty()
            .then_some(())
    })
    .await;

    // An agent told not to: the same root task shares the agent's namespaces.
    cluster
        .add_agent("cpus:2;mem:1024;disk:1024", &["--no-task-namespaces"])
        .await;
    let look = LOOK.replace("AGENT", &cluster.agents[1].pid().to_string());
    let second = loop {
        let offers = framework.offers(10).await;
        if let Some(offer) = offers
            .into_iter()
            .find(|o| o["agent_id"] != offer["agent_id"])
        {
            break offer;
        }
    };
    let shared = task("shared", &second, &look, 0.1, 32.0);
    assert_eq!(framework.launch(&second, vec![shared], 0.0).await, 202);
    framework.task_state("shared", "TASK_FINISHED", 30).await;
    let out = task_stdout(&cluster.dir.path().join("agent1"), "shared");
    assert!(out.contains("sees-agent"), "{out}");
    assert!(has_sys_admin(&out), "{out}");
}
