//! The GPU isolator's logic, natively, against a fake device tree (the SDK's capability fake).

use std::path::{Path, PathBuf};

use corral_sdk::isolator::{Isolator, RecoveredContainer, Resource, TaskInfo, capabilities};
use corral_sdk::types::{CommandInfo, EnvVar};

use super::*;

/// A temp dir with dev/nvidia0..n, nvidiactl, nvidia-uvm and one information file per GPU.
fn fake_tree(gpus: u32) -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "corral-gpu-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("dev")).expect("dev");
    for node in ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "null"] {
        std::fs::write(root.join("dev").join(node), "").expect("node");
    }
    for minor in 0..gpus {
        std::fs::write(root.join(format!("dev/nvidia{minor}")), "").expect("node");
        let dir = root.join(format!("proc/driver/nvidia/gpus/0000:0{minor}:00.0"));
        std::fs::create_dir_all(&dir).expect("gpu dir");
        let info = format!(
            "Model: \t\t Tesla T4\nIRQ:   \t\t 40\nGPU UUID: \t GPU-uuid-{minor}\n\
             Bus Location: \t 0000:0{minor}:00.0\nDevice Minor: \t {minor}\n"
        );
        std::fs::write(dir.join("information"), info).expect("information");
    }
    root
}

fn discovered(gpus: u32) -> (GpuIsolator, PathBuf) {
    let root = fake_tree(gpus);
    capabilities::fake_root(Some(root.clone()));
    let mut isolator = GpuIsolator::default();
    isolator.init(String::new()).expect("init");
    let resources = isolator.discover().expect("discover");
    if gpus > 0 {
        assert_eq!(resources, vec![Resource::scalar("gpus", f64::from(gpus))]);
    }
    (isolator, root)
}

fn task(gpus: f64) -> TaskInfo {
    TaskInfo {
        task_id: "t".into(),
        name: "t".into(),
        framework_id: "f".into(),
        agent_id: "a".into(),
        container_id: "c".into(),
        resources: vec![
            Resource::scalar("cpus", 1.0),
            Resource::scalar("gpus", gpus),
        ],
        command: None,
        labels: vec![],
        kill_grace_period_ms: None,
        health_check: None,
        sandbox: "/tmp".into(),
    }
}

fn env_of<'a>(plan: &'a LaunchPlan, name: &str) -> &'a str {
    plan.environment
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.value.as_str())
        .unwrap_or_else(|| panic!("no {name} in {:?}", plan.environment))
}

fn cleanup(root: &Path) {
    capabilities::fake_root(None);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn discovers_gpus_with_their_driver_information() {
    let (isolator, root) = discovered(4);
    let gpus: Vec<&Gpu> = isolator.gpus().collect();
    assert_eq!(gpus.len(), 4, "nvidia-uvm-tools and nvidiactl are not GPUs");
    assert_eq!(gpus[2].node, "/dev/nvidia2");
    let info = gpus[2].info.as_ref().expect("information read");
    assert_eq!(info.model, "Tesla T4");
    assert_eq!(info.uuid, "GPU-uuid-2");
    cleanup(&root);
}

#[test]
fn no_gpus_means_no_gpus_resource() {
    let (mut isolator, root) = discovered(0);
    assert!(isolator.discover().expect("discover").is_empty());
    cleanup(&root);
}

#[test]
fn prepare_assigns_whole_free_gpus_and_cleanup_frees_them() {
    let (mut isolator, root) = discovered(4);
    let first = isolator.prepare("c1".into(), task(2.0)).expect("two GPUs");
    assert_eq!(
        env_of(&first, "CUDA_VISIBLE_DEVICES"),
        "GPU-uuid-0,GPU-uuid-1"
    );
    assert_eq!(
        env_of(&first, "NVIDIA_VISIBLE_DEVICES"),
        "GPU-uuid-0,GPU-uuid-1"
    );
    let paths: Vec<&str> = first.devices.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/dev/nvidia0",
            "/dev/nvidia1",
            "/dev/nvidiactl",
            "/dev/nvidia-uvm"
        ]
    );
    let second = isolator
        .prepare("c2".into(), task(2.0))
        .expect("the other two");
    assert_eq!(
        env_of(&second, "CUDA_VISIBLE_DEVICES"),
        "GPU-uuid-2,GPU-uuid-3"
    );
    let err = isolator.prepare("c3".into(), task(1.0)).unwrap_err();
    assert!(err.contains("only 0 of 4 are free"), "{err}");
    isolator.cleanup("c1".into()).expect("cleanup");
    let third = isolator
        .prepare("c3".into(), task(1.0))
        .expect("a freed GPU");
    assert_eq!(env_of(&third, MINORS_VAR), "0");
    cleanup(&root);
}

#[test]
fn fractional_and_zero_requests() {
    let (mut isolator, root) = discovered(2);
    let err = isolator.prepare("c".into(), task(0.5)).unwrap_err();
    assert!(err.contains("0.5 gpus") && err.contains("whole"), "{err}");
    let none = isolator.prepare("c".into(), task(0.0)).expect("no GPUs");
    assert!(none.devices.is_empty() && none.environment.is_empty());
    cleanup(&root);
}

#[test]
fn recover_rebuilds_the_assignment_from_the_recorded_minors() {
    let (mut isolator, root) = discovered(4);
    let mut survivor = task(2.0);
    survivor.command = Some(CommandInfo {
        shell: true,
        value: "sleep 100".into(),
        arguments: vec![],
        environment: vec![EnvVar {
            name: MINORS_VAR.into(),
            value: "1,3".into(),
        }],
        user: None,
    });
    isolator
        .recover(vec![RecoveredContainer {
            container_id: "old".into(),
            task: survivor,
        }])
        .expect("recover");
    let plan = isolator.prepare("new".into(), task(2.0)).expect("two free");
    assert_eq!(env_of(&plan, MINORS_VAR), "0,2");
    cleanup(&root);
}

#[test]
fn parses_information_files() {
    let info = GpuInformation::parse("Model: X\nMinor Number: 7\n").expect("old format");
    assert_eq!(info.minor, 7);
    assert!(GpuInformation::parse("Model: X\n").is_err());
    assert!(GpuInformation::parse("Device Minor: seven\n").is_err());
}

#[test]
fn rejects_configuration() {
    let mut isolator = GpuIsolator::default();
    assert!(isolator.init("{\"x\":1}".into()).is_err());
}
