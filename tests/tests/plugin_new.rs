//! `corral plugin new` scaffolds crates that build into components with one command, offline,
//! against this repository's SDK, and whose native tests pass.

use std::path::Path;
use std::process::Command;

use corral_e2e::corral_bin;

/// A target dir kept between runs (next to the test executable's), so the SDK's dependencies
/// are compiled once.
fn scaffold_target() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .nth(3)
        .expect("test executable is in target/<profile>/deps")
        .join("scaffolded-plugins")
}

fn cargo(dir: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", scaffold_target())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_kind_scaffolds_a_crate_that_builds_into_a_component() {
    let dir = tempfile::tempdir().expect("temp dir");
    for kind in ["isolator", "allocator", "executor", "hook", "authorizer"] {
        let name = format!("my-{kind}");
        let crate_dir = dir.path().join(&name);
        let out = Command::new(corral_bin())
            .args(["plugin", "new", "--kind", kind, &name, "--dir"])
            .arg(&crate_dir)
            .output()
            .expect("run corral plugin new");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for file in ["Cargo.toml", "src/lib.rs", "manifest.toml", "README.md"] {
            assert!(crate_dir.join(file).is_file(), "{kind}: no {file}");
        }
        cargo(
            &crate_dir,
            &["build", "--release", "--target", "wasm32-wasip2"],
        );
        let wasm = scaffold_target()
            .join("wasm32-wasip2/release")
            .join(format!("my_{kind}.wasm"));
        let bytes = std::fs::read(&wasm).expect("the component was built");
        assert_eq!(&bytes[..4], b"\0asm");
        assert_eq!(
            &bytes[6..8],
            &[1, 0],
            "{kind}: a component, not a core module"
        );
    }
    cargo(&dir.path().join("my-isolator"), &["test"]);
    cargo(&dir.path().join("my-authorizer"), &["test"]);

    // A second `new` into a crate that exists is refused and changes nothing.
    let again = Command::new(corral_bin())
        .args(["plugin", "new", "--kind", "hook", "x", "--dir"])
        .arg(dir.path().join("my-hook"))
        .output()
        .expect("run corral plugin new");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
