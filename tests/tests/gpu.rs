//! The GPU isolator end to end, on a fake device tree: char devices with the NVIDIA major
//! (195) made with mknod in a temp dir (there is no driver behind them, so opening an
//! allowed one fails with ENXIO while the devices cgroup refuses the others with EPERM), and
//! the driver's information files. Needs root and cgroup v1's devices controller, as the
//! agent's device isolation does; skipped otherwise.

use std::path::Path;

use corral_e2e::{Cluster, Framework, eventually, framework_info, plugin_wasm, scalar, task};
use serde_json::{Value, json};

const NVIDIA_MAJOR: u32 = 195;

fn can_run() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    let devices = std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
        m.lines()
            .any(|l| l.contains(" cgroup ") && l.contains("devices"))
    });
    if !(root && devices) {
        eprintln!("skipped: needs root and the cgroup v1 devices controller");
    }
    root && devices
}

fn mknod(path: &Path, minor: u32) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    let dev = libc::makedev(NVIDIA_MAJOR, minor);
    // SAFETY: mknod with a valid NUL-terminated path.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, dev) };
    assert_eq!(
        rc,
        0,
        "mknod {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// dev/nvidia0..3, nvidiactl (minor 255), nvidia-uvm, and one information file per GPU.
fn fake_gpus(root: &Path) {
    std::fs::create_dir_all(root.join("dev")).expect("dev");
    for minor in 0..4 {
        mknod(&root.join(format!("dev/nvidia{minor}")), minor);
        let dir = root.join(format!("proc/driver/nvidia/gpus/0000:0{minor}:00.0"));
        std::fs::create_dir_all(&dir).expect("gpu dir");
        let info = format!(
            "Model: \t Tesla T4\nGPU UUID: \t GPU-fake-{minor}\nDevice Minor: \t {minor}\n"
        );
        std::fs::write(dir.join("information"), info).expect("information");
    }
    mknod(&root.join("dev/nvidiactl"), 255);
    mknod(&root.join("dev/nvidia-uvm"), 254);
}

/// Container cgroups under any directory named after the agent, a few levels down.
fn containers_left(dir: &Path, agent_id: &str, depth: u32) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut left = Vec::new();
    for entry in entries.flatten().filter(|e| e.path().is_dir()) {
        if entry.file_name() == agent_id {
            let inside = std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten();
            left.extend(inside.map(|e| e.path()).filter(|p| p.is_dir()));
        } else if depth < 3 {
            left.extend(containers_left(&entry.path(), agent_id, depth + 1));
        }
    }
    left
}

fn with_gpus(mut task: Value, gpus: f64) -> Value {
    task["resources"]
        .as_array_mut()
        .expect("resources")
        .push(json!({"name": "gpus", "type": "SCALAR", "scalar": {"value": gpus}}));
    task
}

/// A task that records its CUDA_VISIBLE_DEVICES and which GPU nodes it may open, then holds
/// its GPUs for a while.
fn probe(id: &str, offer: &Value, root: &Path, out: &Path) -> Value {
    let file = out.join(id);
    let command = format!(
        "echo \"$CUDA_VISIBLE_DEVICES\"; echo \"cuda=$CUDA_VISIBLE_DEVICES\" > {f}.tmp; \
         for n in 0 1 2 3; do (: < {r}/dev/nvidia$n) 2>/dev/null && echo open$n >> {f}.tmp; \
         (: < {r}/dev/nvidia$n) 2>&1 | grep -q 'not permitted' && echo denied$n >> {f}.tmp; \
         done; mv {f}.tmp {f}; sleep 30",
        f = file.display(),
        r = root.display()
    );
    with_gpus(task(id, offer, &command, 0.5, 32.0), 2.0)
}

async fn gpu_offer(fw: &mut Framework) -> Value {
    loop {
        let offers = fw.offers(20).await;
        for offer in offers {
            if scalar(&offer, "gpus") == 4.0 {
                return offer;
            }
            fw.decline(&offer, 0.0).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_are_offered_assigned_whole_and_isolated() {
    if !can_run() {
        return;
    }
    let tree = tempfile::tempdir().expect("fake tree");
    let out = tempfile::tempdir().expect("task output");
    fake_gpus(tree.path());
    let mut cluster = Cluster::master(&[]).await;
    let root = tree.path().display().to_string();
    cluster
        .add_agent(
            "cpus:4;mem:1024",
            &["--isolator", "gpu", "--discovery-root", &root],
        )
        .await;

    // A framework without GPU_RESOURCES never sees gpus.
    let mut plain =
        Framework::subscribe(&cluster.master_addr, framework_info("plain", json!({}))).await;
    for _ in 0..3 {
        let Some(event) = plain.next_event(1).await else {
            continue;
        };
        for offer in event["offers"]["offers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            assert_eq!(
                scalar(&offer, "gpus"),
                0.0,
                "gpus offered without GPU_RESOURCES"
            );
            plain.decline(&offer, 3600.0).await;
        }
    }

    let info = framework_info("cuda", json!({"capabilities": [{"type": "GPU_RESOURCES"}]}));
    let mut fw = Framework::subscribe(&cluster.master_addr, info).await;
    let offer = gpu_offer(&mut fw).await;
    let (p, o) = (tree.path(), out.path());
    // Fractional gpus are refused at validation (each task of an ACCEPT on its own).
    let half = with_gpus(task("half", &offer, "true", 0.1, 32.0), 0.5);
    let tasks = vec![probe("t1", &offer, p, o), probe("t2", &offer, p, o), half];
    assert_eq!(fw.launch(&offer, tasks, 0.0).await, 202);
    let want = [
        ("t1", "TASK_RUNNING"),
        ("t2", "TASK_RUNNING"),
        ("half", "TASK_ERROR"),
    ];
    let states = fw.task_states(&want, 30).await;
    let error = states["half"]["message"].as_str().unwrap_or_default();
    assert!(
        error.contains("'gpus' resource must be an unsigned integer"),
        "{error}"
    );

    let read = |id: &str| {
        let path = out.path().join(id);
        async move { std::fs::read_to_string(path).ok() }
    };
    let t1 = eventually(20, "t1's report", || read("t1")).await;
    let t2 = eventually(20, "t2's report", || read("t2")).await;
    let ids = |report: &str| -> Vec<String> {
        let line = report
            .lines()
            .find_map(|l| l.strip_prefix("cuda="))
            .expect("cuda line");
        line.split(',').map(str::to_string).collect()
    };
    let (ids1, ids2) = (ids(&t1), ids(&t2));
    assert_eq!(ids1.len(), 2, "{t1}");
    assert_eq!(ids2.len(), 2, "{t2}");
    assert!(
        ids1.iter().all(|id| !ids2.contains(id)),
        "t1 {ids1:?} and t2 {ids2:?} share"
    );
    for (report, ids) in [(&t1, &ids1), (&t2, &ids2)] {
        for n in 0..4 {
            let mine = ids.contains(&format!("GPU-fake-{n}"));
            // Its own nodes pass the devices cgroup (and then find no driver); others do not.
            assert_eq!(
                report.contains(&format!("denied{n}")),
                !mine,
                "gpu {n}: {report}"
            );
            assert!(
                !report.contains(&format!("open{n}")),
                "no driver behind {n}: {report}"
            );
        }
    }

    // Killed, the tasks leave no devices cgroup behind.
    let agent_id = offer["agent_id"]["value"]
        .as_str()
        .expect("agent id")
        .to_string();
    let devices = Path::new("/sys/fs/cgroup/devices");
    assert_eq!(
        containers_left(devices, &agent_id, 0).len(),
        2,
        "one devices cgroup per running GPU task"
    );
    for id in ["t1", "t2"] {
        let kill = json!({"type": "KILL", "kill": {"task_id": {"value": id}, "agent_id": offer["agent_id"]}});
        assert_eq!(fw.call(kill).await.0, 202);
    }
    fw.task_states(&[("t1", "TASK_KILLED"), ("t2", "TASK_KILLED")], 30)
        .await;
    eventually(10, "the containers' devices cgroups to go", || {
        let left = containers_left(Path::new("/sys/fs/cgroup/devices"), &agent_id, 0);
        async move { left.is_empty().then_some(()) }
    })
    .await;
}

/// An agent with one fixture isolator: every task fails naming it, and the agent serves on.
async fn isolator_fails_tasks(fixture: &str, plugin: &str, expected: &str) {
    let dir = tempfile::tempdir().expect("plugin dir");
    let wasm = dir.path().join(format!("{fixture}.wasm"));
    std::fs::copy(plugin_wasm(fixture), &wasm).expect("copy fixture");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/fixtures")
        .join(plugin)
        .join("manifest.toml");
    std::fs::copy(manifest, wasm.with_extension("toml")).expect("copy manifest");
    let mut cluster = Cluster::master(&[]).await;
    let spec = wasm.display().to_string();
    cluster
        .add_agent("cpus:1;mem:512", &["--isolator", &spec])
        .await;
    let mut fw =
        Framework::subscribe(&cluster.master_addr, framework_info("victim", json!({}))).await;
    for round in 0..2 {
        let offer = fw.offers(20).await.remove(0);
        let id = format!("t{round}");
        assert_eq!(
            fw.launch(&offer, vec![task(&id, &offer, "true", 0.1, 32.0)], 0.0)
                .await,
            202
        );
        let failed = fw.task_state(&id, "TASK_FAILED", 20).await;
        let message = failed["message"].as_str().unwrap_or_default();
        assert!(message.contains(plugin), "names the plugin: {failed}");
        assert!(
            message.contains(expected),
            "says why ({expected}): {failed}"
        );
    }
    let health = corral_e2e::http_get(format!("http://{}/health", cluster.agent_addrs[0]))
        .await
        .expect("agent health");
    assert!(health.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_outside_the_manifest_fails_the_task_naming_plugin_and_refusal() {
    isolator_fails_tasks(
        "sda_isolator",
        "sda-isolator",
        "device /dev/sda is not granted",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolator_that_traps_in_prepare_fails_the_task_naming_it() {
    isolator_fails_tasks("trap_isolator", "trap-isolator", "trapped").await;
}

/// A task that records its GPUs (CUDA_VISIBLE_DEVICES) and holds them until killed.
fn holder(id: &str, offer: &Value, out: &Path) -> Value {
    let file = out.join(id);
    let command = format!(
        "echo \"cuda=$CUDA_VISIBLE_DEVICES\" > {f}.tmp; mv {f}.tmp {f}; exec sleep 600",
        f = file.display()
    );
    with_gpus(task(id, offer, &command, 0.2, 32.0), 2.0)
}

/// The GPU ids a holder task recorded, sorted.
async fn held_gpus(out: &Path, id: &str) -> Vec<String> {
    let path = out.join(id);
    let report = eventually(20, &format!("{id}'s report"), || {
        let path = path.clone();
        async move { std::fs::read_to_string(path).ok() }
    })
    .await;
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix("cuda="))
        .expect("cuda line");
    let mut ids: Vec<String> = line.split(',').map(str::to_string).collect();
    ids.sort();
    ids
}

/// The next offer with exactly `gpus` GPUs (others are declined).
async fn offer_with_gpus(fw: &mut Framework, gpus: f64) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Some(offers) = fw.offers_until(deadline).await {
        for offer in offers {
            if scalar(&offer, "gpus") == gpus {
                return offer;
            }
            fw.decline(&offer, 0.0).await;
        }
    }
    panic!("no offer of {gpus} gpus in 60 s");
}

/// Launches holder `id` on an offer of 2 GPUs until it runs, and returns that offer. An offer
/// made before the agent restarted may still be queued ahead of its rescind; the master
/// answers a launch on it with TASK_LOST, and the next offer is taken.
async fn launch_holder_after_restart(fw: &mut Framework, id: &str, out: &Path) -> Value {
    for _ in 0..3 {
        let offer = offer_with_gpus(fw, 2.0).await;
        assert_eq!(
            fw.launch(&offer, vec![holder(id, &offer, out)], 0.0).await,
            202
        );
        let update = fw
            .wait_for(30, true, &format!("{id}'s first update"), |e| {
                e["type"] == "UPDATE" && e["update"]["status"]["task_id"]["value"] == id
            })
            .await;
        let status = &update["update"]["status"];
        match status["state"].as_str() {
            Some("TASK_RUNNING") => return offer,
            Some("TASK_STARTING") => {
                fw.task_state(id, "TASK_RUNNING", 30).await;
                return offer;
            }
            Some("TASK_LOST") => continue,
            _ => panic!("{id}: {status}"),
        }
    }
    panic!("{id} did not run on any of three offers");
}

/// After `kill -9` of the agent, the gpu plugin learns which GPUs its reattached task holds:
/// a task launched after the restart gets the other two, and the first task's GPUs are free
/// again (and its devices cgroup gone) once it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_does_not_hand_out_a_recovered_tasks_gpus() {
    if !can_run() {
        return;
    }
    let tree = tempfile::tempdir().expect("fake tree");
    let out = tempfile::tempdir().expect("task output");
    fake_gpus(tree.path());
    let mut cluster = Cluster::master(&[]).await;
    let root = tree.path().display().to_string();
    cluster
        .add_agent(
            "cpus:4;mem:1024",
            &["--isolator", "gpu", "--discovery-root", &root],
        )
        .await;
    let info = framework_info("cuda", json!({"capabilities": [{"type": "GPU_RESOURCES"}]}));
    let mut fw = Framework::subscribe(&cluster.master_addr, info).await;
    let offer = gpu_offer(&mut fw).await;
    let agent_id = offer["agent_id"]["value"]
        .as_str()
        .expect("agent id")
        .to_string();
    assert_eq!(
        fw.launch(&offer, vec![holder("h1", &offer, out.path())], 0.0)
            .await,
        202
    );
    fw.task_state("h1", "TASK_RUNNING", 30).await;
    let first = held_gpus(out.path(), "h1").await;
    assert_eq!(first.len(), 2, "{first:?}");

    cluster.agents[0].kill9();
    cluster.agents[0].restart();

    let offer = launch_holder_after_restart(&mut fw, "h2", out.path()).await;
    let second = held_gpus(out.path(), "h2").await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(
        second.iter().all(|id| !first.contains(id)),
        "h2 got {second:?}, h1 (recovered) holds {first:?}"
    );

    // The recovered task ends: its GPUs are the plugin's to give again.
    let kill = json!({"type": "KILL", "kill": {"task_id": {"value": "h1"}, "agent_id": offer["agent_id"]}});
    assert_eq!(fw.call(kill).await.0, 202);
    fw.task_state("h1", "TASK_KILLED", 30).await;
    let offer = offer_with_gpus(&mut fw, 2.0).await;
    assert_eq!(
        fw.launch(&offer, vec![holder("h3", &offer, out.path())], 0.0)
            .await,
        202
    );
    fw.task_state("h3", "TASK_RUNNING", 30).await;
    assert_eq!(held_gpus(out.path(), "h3").await, first);

    for id in ["h2", "h3"] {
        let kill = json!({"type": "KILL", "kill": {"task_id": {"value": id}, "agent_id": offer["agent_id"]}});
        assert_eq!(fw.call(kill).await.0, 202);
    }
    fw.task_states(&[("h2", "TASK_KILLED"), ("h3", "TASK_KILLED")], 30)
        .await;
    eventually(10, "the containers' devices cgroups to go", || {
        let left = containers_left(Path::new("/sys/fs/cgroup/devices"), &agent_id, 0);
        async move { left.is_empty().then_some(()) }
    })
    .await;
}
