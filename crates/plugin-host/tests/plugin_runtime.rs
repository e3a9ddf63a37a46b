//! The plugin runtime against real components: components built from WAT text here, and the
//! shipped plugins and misbehaving fixtures from plugins/ (see plugin_runtime_fixtures.rs).

use corral_plugin_host::{PluginEngine, PluginError, PluginLimits};

fn engine() -> PluginEngine {
    PluginEngine::new().expect("engine starts")
}

/// Writes `bytes` to a temporary `.wasm` file; the directory lives as long as the guard.
fn wasm_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).expect("write component");
    let path = path.to_str().expect("utf-8 temp path").to_string();
    (dir, path)
}

fn component(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("valid WAT")
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let (_dir, path) = wasm_file("text", b"this is not webassembly");
    let err = engine()
        .allocator_factory(&path, "", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("plugin text"), "{err}");
}

#[test]
fn a_core_module_is_refused_as_not_a_component() {
    let (_dir, path) = wasm_file("core", &component("(module)"));
    let err = engine()
        .executor_factory(&path, PluginLimits::EXECUTOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("not a component"), "{err}");
}

#[test]
fn a_truncated_component_is_refused() {
    let full = component(
        r#"(component
            (core module $m (func (export "f") (result i32) i32.const 7))
            (core instance $i (instantiate $m)))"#,
    );
    let (_dir, path) = wasm_file("truncated", &full[..full.len() - 5]);
    let err = engine()
        .allocator_factory(&path, "", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
}

#[test]
fn a_missing_file_is_an_io_error_and_an_unknown_name_is_no_builtin() {
    let err = engine()
        .allocator_factory("/nonexistent/drf.wasm", "", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::Io { .. }), "{err}");
    let err = engine()
        .executor_factory("no-such-plugin", PluginLimits::EXECUTOR)
        .err()
        .expect("refused");
    assert_eq!(err, PluginError::UnknownBuiltin("no-such-plugin".into()));
}

#[test]
fn another_wit_version_is_refused_naming_both_versions() {
    let (_dir, path) = wasm_file(
        "future",
        &component(
            r#"(component
                (instance $i)
                (export "corral:plugin/allocator@0.2.0" (instance $i)))"#,
        ),
    );
    let err = engine()
        .allocator_factory(&path, "", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert_eq!(
        err,
        PluginError::WitVersion {
            plugin: "future".into(),
            found: "corral:plugin/allocator@0.2.0".into(),
            expected: "0.1.1".into(),
        }
    );
    assert!(err.to_string().contains("corral:plugin@0.1.1"), "{err}");
}

#[test]
fn a_component_of_another_kind_is_wrong_kind() {
    let (_dir, path) = wasm_file(
        "hooky",
        &component(
            r#"(component
                (instance $i)
                (export "corral:plugin/hook@0.1.0" (instance $i)))"#,
        ),
    );
    let err = engine()
        .executor_factory(&path, PluginLimits::EXECUTOR)
        .err()
        .expect("refused");
    assert_eq!(
        err,
        PluginError::WrongKind {
            plugin: "hooky".into(),
            expected: "executor".into(),
            found: "corral:plugin/hook@0.1.0".into(),
        }
    );
}

#[test]
fn an_import_the_host_does_not_provide_is_refused_naming_it() {
    let (_dir, path) = wasm_file(
        "sneaky",
        &component(
            r#"(component
                (import "evil:net/socket@1.0.0" (instance (export "connect" (func))))
                (instance $i)
                (export "corral:plugin/allocator@0.1.0" (instance $i)))"#,
        ),
    );
    let err = engine()
        .allocator_factory(&path, "", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::Instantiate { .. }), "{err}");
    assert!(err.to_string().contains("evil:net/socket@1.0.0"), "{err}");
}

#[test]
fn an_export_with_the_right_name_but_wrong_functions_is_invalid() {
    let (_dir, path) = wasm_file(
        "hollow",
        &component(
            r#"(component
                (instance $i)
                (export "corral:plugin/executor@0.1.0" (instance $i)))"#,
        ),
    );
    let err = engine()
        .executor_factory(&path, PluginLimits::EXECUTOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("executor interface"), "{err}");
}
