//! Load checks: where a plugin's bytes come from, whether they are a component, and whether
//! that component is the kind of plugin asked for, built against the WIT version this host
//! speaks.

use std::borrow::Cow;
use std::path::Path;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::error::PluginError;
use super::plugin_kind::{PluginKind, WIT_PACKAGE, WIT_VERSION, wit_compatible, wit_loads};
use corral_builtin_plugins::builtin;

/// Resolves `spec` to a plugin name and its component bytes: a built-in name, else a path to
/// a `.wasm` file (named after the file's stem).
pub(crate) fn read_spec(spec: &str) -> Result<(String, Cow<'static, [u8]>), PluginError> {
    if let Some(bytes) = builtin(spec) {
        return Ok((spec.to_string(), Cow::Borrowed(bytes)));
    }
    let path = Path::new(spec);
    let looks_like_path = spec.contains(std::path::MAIN_SEPARATOR)
        || spec.contains('/')
        || spec.ends_with(".wasm")
        || path.exists();
    if !looks_like_path {
        return Err(PluginError::UnknownBuiltin(spec.to_string()));
    }
    let bytes = std::fs::read(path).map_err(|e| PluginError::Io {
        path: spec.to_string(),
        reason: e.to_string(),
    })?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| spec.to_string());
    Ok((name, Cow::Owned(bytes)))
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Compiles a component; anything that is not one (a core module, a truncated file, text)
/// is `Invalid` with wasmtime's reason.
pub(crate) fn compile(
    engine: &wasmtime::Engine,
    name: &str,
    bytes: &[u8],
) -> Result<Component, PluginError> {
    let invalid = |reason: String| PluginError::Invalid {
        plugin: name.to_string(),
        reason,
    };
    if !bytes.starts_with(b"\0asm") {
        return Err(invalid(
            "the file does not start with the WebAssembly magic bytes".to_string(),
        ));
    }
    // A core module has version 1 in bytes 4..8; a component has layer 1 there.
    if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
        return Err(invalid(
            "it is a core WebAssembly module, not a component (build for wasm32-wasip2 or run \
             `wasm-tools component new`)"
                .to_string(),
        ));
    }
    Component::new(engine, bytes).map_err(|e| invalid(format!("{e:#}")))
}

/// Checks a compiled component's exports and imports against the kind asked for.
pub(crate) fn check_interfaces(
    engine: &wasmtime::Engine,
    name: &str,
    component: &Component,
    kind: PluginKind,
) -> Result<(), PluginError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(n, _)| n).collect();
    let imports: Vec<&str> = ty.imports(engine).map(|(n, _)| n).collect();
    check_names(name, kind, &exports, &imports)
}

/// The name checks on their own: `WitVersion` when the kind's interface (or an imported
/// `corral:plugin` interface) carries another version, `WrongKind` when it is missing.
pub(crate) fn check_names(
    name: &str,
    kind: PluginKind,
    exports: &[&str],
    imports: &[&str],
) -> Result<(), PluginError> {
    let wanted = format!("{WIT_PACKAGE}/{}", kind.interface());
    let version_error = |found: &str| PluginError::WitVersion {
        plugin: name.to_string(),
        found: found.to_string(),
        expected: WIT_VERSION.to_string(),
    };
    let export = exports
        .iter()
        .find(|e| interface_of(e) == wanted)
        .ok_or_else(|| PluginError::WrongKind {
            plugin: name.to_string(),
            expected: kind.interface().to_string(),
            found: if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            },
        })?;
    if !version_of(export).is_some_and(|v| wit_loads(kind, v)) {
        return Err(version_error(export));
    }
    let ours = format!("{WIT_PACKAGE}/");
    if let Some(import) = imports
        .iter()
        .find(|i| i.starts_with(&ours) && !version_of(i).is_some_and(wit_compatible))
    {
        return Err(version_error(import));
    }
    Ok(())
}

/// "corral:plugin/allocator@0.1.0" -> "corral:plugin/allocator".
fn interface_of(name: &str) -> &str {
    name.split_once('@').map_or(name, |(i, _)| i)
}

/// "corral:plugin/allocator@0.1.0" -> Some("0.1.0").
fn version_of(name: &str) -> Option<&str> {
    name.split_once('@').map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_right_kind_and_version() {
        let exports = ["corral:plugin/allocator@0.1.0"];
        let imports = ["corral:plugin/types@0.1.0", "wasi:cli/stderr@0.2.6"];
        check_names("drf", PluginKind::Allocator, &exports, &imports).expect("accepted");
    }

    #[test]
    fn earlier_versions_of_the_line_load_but_not_before_their_kind_existed() {
        let current = ["corral:plugin/authorizer@0.1.1"];
        let imports = ["corral:plugin/host@0.1.1"];
        check_names("p", PluginKind::Authorizer, &current, &imports).expect("accepted");
        let older = ["corral:plugin/hook@0.1.0"];
        let older_imports = ["corral:plugin/host@0.1.0", "corral:plugin/types@0.1.0"];
        check_names("labels-0.1.0", PluginKind::Hook, &older, &older_imports).expect("accepted");
        let impossible = ["corral:plugin/authorizer@0.1.0"];
        let err = check_names("p", PluginKind::Authorizer, &impossible, &[]).unwrap_err();
        assert!(matches!(err, PluginError::WitVersion { .. }), "{err}");
        let newer = ["corral:plugin/hook@0.1.2"];
        let err = check_names("p", PluginKind::Hook, &newer, &[]).unwrap_err();
        assert!(matches!(err, PluginError::WitVersion { .. }), "{err}");
    }

    #[test]
    fn another_kind_is_wrong_kind_listing_the_exports() {
        let exports = ["corral:plugin/executor@0.1.0"];
        let err = check_names("command", PluginKind::Allocator, &exports, &[]).unwrap_err();
        assert_eq!(
            err,
            PluginError::WrongKind {
                plugin: "command".into(),
                expected: "allocator".into(),
                found: "corral:plugin/executor@0.1.0".into(),
            }
        );
        let none = check_names("x", PluginKind::Executor, &[], &[]).unwrap_err();
        assert!(none.to_string().contains("exports: nothing"), "{none}");
    }

    #[test]
    fn another_version_names_both() {
        let exports = ["corral:plugin/allocator@0.2.0"];
        let err = check_names("new", PluginKind::Allocator, &exports, &[]).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, PluginError::WitVersion { .. }));
        assert!(text.contains("corral:plugin/allocator@0.2.0"), "{text}");
        assert!(text.contains("corral:plugin@0.1.1"), "{text}");
        let unversioned = ["corral:plugin/allocator"];
        assert!(matches!(
            check_names("x", PluginKind::Allocator, &unversioned, &[]),
            Err(PluginError::WitVersion { .. })
        ));
        let old_import = ["corral:plugin/host@0.0.9"];
        let err = check_names(
            "x",
            PluginKind::Allocator,
            &["corral:plugin/allocator@0.1.0"],
            &old_import,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("corral:plugin/host@0.0.9"),
            "{err}"
        );
    }

    #[test]
    fn unknown_names_and_missing_files_are_told_apart() {
        assert_eq!(
            read_spec("no-such-builtin").unwrap_err(),
            PluginError::UnknownBuiltin("no-such-builtin".into())
        );
        assert!(matches!(
            read_spec("/nonexistent/x.wasm"),
            Err(PluginError::Io { .. })
        ));
    }

    #[test]
    fn non_components_are_invalid_with_a_reason() {
        let engine = wasmtime::Engine::default();
        let text = compile(&engine, "t", b"hello").unwrap_err();
        assert!(text.to_string().contains("magic"), "{text}");
        let module = compile(&engine, "m", b"\0asm\x01\0\0\0").unwrap_err();
        assert!(
            module.to_string().contains("core WebAssembly module"),
            "{module}"
        );
        let truncated = compile(&engine, "c", b"\0asm\x0d\0\x01\0\x01").unwrap_err();
        assert!(
            matches!(truncated, PluginError::Invalid { .. }),
            "{truncated}"
        );
    }
}
