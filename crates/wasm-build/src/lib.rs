//! For build scripts: builds packages of the `plugins/` workspace for wasm32-wasip2 and
//! copies the components to OUT_DIR, where the calling crate embeds them
//! (`corral-builtin-plugins` the shipped plugins, `corral-test-fixtures` the test ones).
//!
//! The nested `cargo build` gets a clean environment: variables that the outer cargo sets for
//! this build script (rustflags, wrappers such as clippy-driver, the target dir, cfg and
//! feature flags of the calling crate) must not leak into a build for another target. It always
//! builds in release into `<outer target dir>/wasm-plugins`, so debug and release host builds
//! share one plugin build.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const WASM_TARGET: &str = "wasm32-wasip2";

/// Variables the outer cargo sets that would change the nested build.
const CLEARED_VARS: &[&str] = &[
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_CRATE_NAME",
    "CARGO_RUSTC_CURRENT_DIR",
    "CARGO_INCREMENTAL",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "NUM_JOBS",
    "RUSTC_LINKER",
];

/// Prefixes of variables cleared for the same reason (CARGO_TARGET_ covers CARGO_TARGET_DIR
/// and per-target linkers and rustflags; CARGO_BUILD_ covers CARGO_BUILD_TARGET).
const CLEARED_PREFIXES: &[&str] = &[
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_PROFILE_",
    "CARGO_TARGET_",
    "CARGO_BUILD_",
    "CARGO_LLVM_COV",
    "DEP_",
    "__CARGO_",
];

/// A package of the `plugins/` workspace and the component file it builds.
pub struct Component {
    /// The cargo package name (`drf`, `loop-allocator`).
    pub package: &'static str,
    /// The file stem of the built component (cargo turns `-` into `_` for libraries).
    pub stem: &'static str,
}

/// The whole build script of a crate that embeds components: builds them and copies each to
/// OUT_DIR as `<stem>.wasm`; a failure is printed with its fix and fails the build.
pub fn main(components: &[Component]) -> ExitCode {
    match build(components) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: building the WebAssembly plugins failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn build(components: &[Component]) -> Result<(), String> {
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    // The calling crate is crates/<name>: the repository is two levels up.
    let repo = manifest_dir
        .ancestors()
        .nth(2)
        .ok_or("the crate is not under crates/ of the repository")?
        .to_path_buf();
    let out_dir = PathBuf::from(var("OUT_DIR")?);

    watch_sources(&repo);
    check_wasm_target()?;

    let target_dir = plugin_target_dir(&out_dir);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .current_dir(repo.join("plugins"))
        .args(["build", "--release", "--target", WASM_TARGET]);
    for component in components {
        command.args(["-p", component.package]);
    }
    command
        .arg("--target-dir")
        .arg(&target_dir)
        // Anything the nested cargo prints on stdout would be read as build-script directives.
        .stdout(std::io::stderr());
    for (key, _) in env::vars_os() {
        if let Some(key) = key.to_str()
            && must_clear(key)
        {
            command.env_remove(key);
        }
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo for the plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --release --target {WASM_TARGET}` in plugins/ failed ({status}); \
             its output is above"
        ));
    }

    let built = target_dir.join(WASM_TARGET).join("release");
    for Component { stem, .. } in components {
        let from = built.join(format!("{stem}.wasm"));
        let to = out_dir.join(format!("{stem}.wasm"));
        fs::copy(&from, &to).map_err(|e| {
            format!(
                "cannot copy {} to {}: {e} (is {stem} a member of plugins/Cargo.toml?)",
                from.display(),
                to.display()
            )
        })?;
    }
    Ok(())
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|e| format!("{name} is not set by cargo: {e}"))
}

fn must_clear(key: &str) -> bool {
    CLEARED_VARS.contains(&key) || CLEARED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Rebuild when the WIT, the SDK or a plugin changes; never look inside target directories.
fn watch_sources(repo: &Path) {
    let mut watched = vec![
        repo.join("wit"),
        repo.join("sdk/Cargo.toml"),
        repo.join("sdk/src"),
        repo.join("plugins/Cargo.toml"),
        repo.join("plugins/Cargo.lock"),
    ];
    let mut crates = vec![
        repo.join("examples/plugin"),
        repo.join("examples/wasi-task"),
    ];
    for parent in [repo.join("plugins"), repo.join("plugins/fixtures")] {
        if let Ok(entries) = fs::read_dir(&parent) {
            crates.extend(entries.flatten().map(|entry| entry.path()));
        }
    }
    for dir in crates {
        if dir.join("Cargo.toml").is_file() {
            watched.push(dir.join("Cargo.toml"));
            watched.push(dir.join("src"));
        }
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The standard library for wasm32-wasip2 must be installed (rustup component).
fn check_wasm_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let installed = output.status.success()
        && fs::read_dir(&libdir).is_ok_and(|mut entries| entries.next().is_some());
    if installed {
        Ok(())
    } else {
        Err(format!(
            "the Rust target {WASM_TARGET} is not installed. Run \
             `rustup target add {WASM_TARGET}` (or scripts/setup.sh) and build again."
        ))
    }
}

/// `<outer target dir>/wasm-plugins`: OUT_DIR is `<target>/<profile>/build/<crate>-<hash>/out`
/// (with `<target>/<triple>/<profile>/...` when cross-compiling).
fn plugin_target_dir(out_dir: &Path) -> PathBuf {
    let build_dir = out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"));
    match build_dir.and_then(Path::parent).and_then(Path::parent) {
        Some(target) => target.join("wasm-plugins"),
        None => out_dir.join("wasm-plugins"),
    }
}
