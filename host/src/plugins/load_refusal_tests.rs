//! Components the host refuses at load, built from the text fixtures in plugins/fixtures/wat:
//! an import the host does not provide, and another WIT version. Each is refused with a
//! reason that names the problem, before any call.

use super::PluginEngine;
use super::error::PluginError;
use super::hook::HOOK_LIMITS;
use super::wasm_hook::hook_factory;

fn load(wat_text: &str) -> PluginError {
    let bytes = wat::parse_str(wat_text).expect("fixture is valid component text");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fixture.wasm");
    std::fs::write(&path, bytes).expect("write fixture");
    let engine = PluginEngine::new().expect("engine");
    match hook_factory(&engine, &path.display().to_string(), "", HOOK_LIMITS) {
        Ok(_) => panic!("the fixture must be refused at load"),
        Err(e) => e,
    }
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
    assert!(text.contains("corral:plugin@0.1.0"), "{text}");
}
