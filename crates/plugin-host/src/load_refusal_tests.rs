//! Components the host refuses at load, built from the text fixtures in plugins/fixtures/wat:
//! an import the host does not provide, and another WIT version. Each is refused with a
//! reason that names the problem, before any call.

use super::error::PluginError;
use super::hook::HOOK_LIMITS;
use super::{PluginEngine, PluginTask};

fn load(wat_text: &str) -> PluginError {
    let bytes = wat::parse_str(wat_text).expect("fixture is valid component text");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fixture.wasm");
    std::fs::write(&path, bytes).expect("write fixture");
    let engine = PluginEngine::new().expect("engine");
    match engine.hook_factory(&path.display().to_string(), "", HOOK_LIMITS) {
        Ok(_) => panic!("the fixture must be refused at load"),
        Err(e) => e,
    }
}

/// Not a load refusal, but the same sandbox promise for the other per-task plugin kind: an
/// executor that loops in `launch` or `on-event` is stopped by its deadline.
#[test]
fn an_executor_that_loops_in_launch_or_on_event_is_stopped_by_its_deadline() {
    use super::executor::{Event, ProcessExit};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("loop-executor.wasm");
    let bytes = corral_test_fixtures::fixture("loop-executor").expect("fixture");
    std::fs::write(&path, bytes).expect("write fixture");
    let engine = PluginEngine::new().expect("engine");
    let factory = engine
        .executor_factory(&path.display().to_string(), super::PluginLimits::EXECUTOR)
        .expect("loads");
    let mut task = PluginTask::new(Default::default(), "f", "c", "/tmp");
    let err = factory().expect("instance").launch(&task).unwrap_err();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
    task.info.name = "loop-on-event".into();
    let mut executor = factory().expect("instance");
    executor.launch(&task).expect("launch answers");
    let exit = Event::Exited(ProcessExit {
        id: 1,
        code: Some(0),
        signal: None,
    });
    let err = executor.on_event(&exit).unwrap_err();
    assert!(
        err.to_string().contains("on-event exceeded its deadline"),
        "{err}"
    );
}

#[test]
fn an_import_the_host_does_not_provide_is_refused_at_load_naming_it() {
    let err = load(include_str!(
        "../../../plugins/fixtures/wat/foreign-import-hook.wat"
    ));
    assert!(matches!(err, PluginError::Instantiate { .. }), "{err:?}");
    assert!(err.to_string().contains("acme:net/sockets@1.0.0"), "{err}");
}

#[test]
fn another_wit_version_is_refused_at_load_naming_both() {
    let err = load(include_str!(
        "../../../plugins/fixtures/wat/future-wit-hook.wat"
    ));
    let text = err.to_string();
    assert!(matches!(err, PluginError::WitVersion { .. }), "{err:?}");
    assert!(text.contains("corral:plugin/hook@0.2.0"), "{text}");
    assert!(text.contains("corral:plugin@0.1.1"), "{text}");
}
