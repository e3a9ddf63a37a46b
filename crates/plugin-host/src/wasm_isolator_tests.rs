//! The built-in gpu isolator and the isolator fixtures through the component ABI, on a fake
//! device tree.

use crate::error::PluginError;
use crate::isolator::check_plan;
use crate::{PluginEngine, PluginTask};
use corral_api::v1;
use corral_test_fixtures::{fixture, fixture_manifest};

fn tree(gpus: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("dev")).expect("dev");
    std::fs::write(root.join("dev/nvidiactl"), "").expect("ctl");
    for minor in 0..gpus {
        std::fs::write(root.join(format!("dev/nvidia{minor}")), "").expect("node");
        let gpu = root.join(format!("proc/driver/nvidia/gpus/0000:0{minor}:00.0"));
        std::fs::create_dir_all(&gpu).expect("gpu dir");
        let info = format!("Model: T4\nGPU UUID: GPU-{minor}\nDevice Minor: {minor}\n");
        std::fs::write(gpu.join("information"), info).expect("info");
    }
    dir
}

fn task(gpus: f64) -> PluginTask {
    let info = v1::TaskInfo {
        task_id: v1::Id::new("t"),
        name: "t".into(),
        agent_id: v1::Id::new("a"),
        resources: vec![v1::Resource {
            name: "gpus".into(),
            kind: v1::ValueType::Scalar,
            scalar: Some(v1::Scalar { value: gpus }),
            ..Default::default()
        }],
        ..Default::default()
    };
    PluginTask::new(info, "f", "c", "/tmp")
}

/// Writes a fixture and its manifest to a temp dir, as an operator installs a plugin.
fn fixture_file(name: &str, dir: &std::path::Path) -> String {
    let path = dir.join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::write(&path, fixture(name).expect("fixture")).expect("write wasm");
    let manifest = fixture_manifest(name).expect("fixture manifest");
    std::fs::write(path.with_extension("toml"), manifest).expect("write manifest");
    path.display().to_string()
}

#[test]
fn the_gpu_isolator_discovers_and_assigns_through_the_host() {
    let dir = tree(4);
    let engine = PluginEngine::new().expect("engine");
    let mut gpu = engine.isolator("gpu", "", dir.path()).expect("gpu loads");
    assert_eq!(gpu.plugin_name(), "gpu");
    let resources = gpu.discover().expect("discover");
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].scalar, Some(v1::Scalar { value: 4.0 }));
    let plan = gpu.prepare("c1", &task(2.0)).expect("two GPUs");
    assert!(check_plan(gpu.manifest(), &plan).is_empty(), "{plan:?}");
    let cuda = plan
        .environment
        .iter()
        .find(|e| e.name == "CUDA_VISIBLE_DEVICES")
        .expect("CUDA_VISIBLE_DEVICES");
    assert_eq!(cuda.value.as_deref(), Some("GPU-0,GPU-1"));
    let err = gpu.prepare("c2", &task(0.5)).unwrap_err();
    assert!(err.to_string().contains("plugin gpu") && err.to_string().contains("whole"));
    let err = gpu.prepare("c3", &task(3.0)).unwrap_err();
    assert!(err.to_string().contains("only 2 of 4"), "{err}");
    gpu.cleanup("c1").expect("cleanup");
    gpu.prepare("c3", &task(3.0)).expect("freed");
}

#[test]
fn a_config_the_gpu_isolator_rejects_is_refused_at_load() {
    let dir = tree(1);
    let engine = PluginEngine::new().expect("engine");
    let err = engine
        .isolator("gpu", "{\"nope\":1}", dir.path())
        .err()
        .expect("refused");
    assert!(
        matches!(err, PluginError::Failed { ref call, .. } if call == "init"),
        "{err}"
    );
}

#[test]
fn a_plan_outside_the_grant_is_refused_by_the_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = fixture_file("sda-isolator", dir.path());
    let engine = PluginEngine::new().expect("engine");
    let mut sda = engine.isolator(&spec, "", dir.path()).expect("loads");
    assert_eq!(sda.plugin_name(), "sda-isolator", "named by its manifest");
    let plan = sda.prepare("c", &task(0.0)).expect("a plan");
    let refusals = check_plan(sda.manifest(), &plan);
    assert!(refusals[0].contains("/dev/sda"), "{refusals:?}");
}

#[test]
fn a_trap_in_prepare_names_the_plugin_and_a_fresh_instance_serves_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = fixture_file("trap-isolator", dir.path());
    let engine = PluginEngine::new().expect("engine");
    let mut trap = engine.isolator(&spec, "", dir.path()).expect("loads");
    for _ in 0..2 {
        let err = trap.prepare("c", &task(0.0)).unwrap_err();
        assert!(matches!(err, PluginError::Trap { .. }), "{err}");
        assert!(err.to_string().contains("trap-isolator"), "{err}");
    }
    trap.cleanup("c").expect("a replaced instance answers");
}

#[test]
fn an_isolator_without_a_manifest_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bare.wasm");
    std::fs::write(&path, fixture("trap-isolator").expect("fixture")).expect("write");
    let engine = PluginEngine::new().expect("engine");
    let err = engine
        .isolator(&path.display().to_string(), "", dir.path())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("needs a manifest"), "{err}");
}
