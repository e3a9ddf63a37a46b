//! How the WIT version moves (wit/RATIONALE.md): a plugin built against an earlier 0.1.x
//! loads and runs on this host unchanged. The fixture is a real hook compiled against the
//! frozen `corral:plugin@0.1.0` WIT (plugins/fixtures/legacy-hook), not a renamed export.

use corral_api::v1;
use corral_plugin_host::allocator::FrameworkSnapshot;
use corral_plugin_host::hook::{HOOK_LIMITS, LaunchDecision};
use corral_plugin_host::{PluginEngine, PluginTask, WIT_VERSION};
use corral_test_fixtures::LEGACY_HOOK;
use wasmtime::component::Component;

#[test]
fn a_hook_built_against_0_1_0_is_really_that_version() {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let component = Component::new(&engine, LEGACY_HOOK).expect("compiles");
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(&engine).map(|(n, _)| n).collect();
    assert_eq!(exports, ["corral:plugin/hook@0.1.0"]);
    assert_ne!(WIT_VERSION, "0.1.0", "the host has moved on since");
}

#[test]
fn a_hook_built_against_0_1_0_loads_and_decorates_on_this_host() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("legacy-hook.wasm");
    std::fs::write(&path, LEGACY_HOOK).expect("write the component");
    let engine = PluginEngine::new().expect("engine");
    let factory = engine
        .hook_factory(&path.display().to_string(), "", HOOK_LIMITS)
        .expect("a 0.1.0 hook loads on a 0.1.x host");
    let mut hook = factory().expect("instantiates");
    let info = v1::TaskInfo {
        name: "t".into(),
        task_id: v1::Id::new("t1"),
        agent_id: v1::Id::new("a"),
        ..Default::default()
    };
    let task = PluginTask::new(info, "f", "", "");
    let framework = FrameworkSnapshot {
        id: "f".into(),
        name: "fw".into(),
        roles: vec!["dev".into()],
        capabilities: vec![],
        principal: None,
    };
    let LaunchDecision::Allow(decoration) = hook
        .on_launch(&task, &framework)
        .expect("on-launch answers")
    else {
        panic!("the legacy hook allows every task");
    };
    let labels: Vec<(&str, &str)> = decoration
        .labels
        .iter()
        .map(|l| (l.key.as_str(), l.value.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(labels, [("built-against", "0.1.0")]);
}
