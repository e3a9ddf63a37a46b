//! `corral plugin new --kind allocator|executor|isolator|hook|authorizer NAME [--dir D]`:
//! scaffolds a plugin crate that builds with one command (`cargo build --release --target
//! wasm32-wasip2`) and tests natively with `cargo test`: Cargo.toml (corral-sdk by path when
//! this binary knows its source tree, or `--sdk PATH`), src/lib.rs implementing the kind's
//! trait with a native test, manifest.toml and a README.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// allocator, executor, isolator, hook or authorizer.
    #[arg(long, value_name = "KIND")]
    pub kind: String,
    /// The plugin's name ([a-z0-9-], starting with a letter); also the crate's.
    pub name: String,
    /// Where to create the crate (default: ./NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The corral-sdk crate to depend on (default: this build's source tree, when it exists).
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// The SDK of the source tree this binary was built from.
const BUILD_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk");

pub fn run(args: NewArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let files = scaffold(&args.kind, &args.name, args.sdk.as_deref())?;
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty; choose another --dir",
            dir.display()
        );
    }
    for (relative, text) in &files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "created {} plugin '{}' in {}\n  cd {} && cargo test && \
         cargo build --release --target wasm32-wasip2",
        args.kind,
        args.name,
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The crate's files (path relative to the crate, contents).
pub fn scaffold(
    kind: &str,
    name: &str,
    sdk: Option<&Path>,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("plugin name '{name}' must be [a-z0-9-] and start with a letter");
    }
    let source = match kind {
        "isolator" => include_str!("plugin_templates/isolator.rs.txt"),
        "allocator" => include_str!("plugin_templates/allocator.rs.txt"),
        "executor" => include_str!("plugin_templates/executor.rs.txt"),
        "hook" => include_str!("plugin_templates/hook.rs.txt"),
        "authorizer" => include_str!("plugin_templates/authorizer.rs.txt"),
        other => {
            bail!(
                "unknown plugin kind '{other}': expected allocator, executor, isolator, hook or \
                 authorizer"
            )
        }
    };
    let sdk_dependency = match sdk {
        Some(path) => format!("{{ path = {:?} }}", path.display().to_string()),
        None if Path::new(BUILD_SDK).join("Cargo.toml").exists() => {
            let path = std::fs::canonicalize(BUILD_SDK).unwrap_or_else(|_| BUILD_SDK.into());
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        None => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
    };
    let env_prefix = name.to_ascii_uppercase().replace('-', "_");
    let lib = source
        .replace("{{NAME}}", name)
        .replace("{{ENV}}", &env_prefix);
    let cargo = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# A workspace of its own, so it builds wherever it is created.
[workspace]

[lib]
# cdylib is the WebAssembly component; rlib lets `cargo test` run the logic natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
corral-sdk = {sdk_dependency}

# Small components: the host compiles them at load time.
[profile.release]
opt-level = "s"
lto = true
strip = true
codegen-units = 1
panic = "abort"
"#
    );
    let manifest = format!(
        r#"# What the host grants this plugin; everything absent is denied. See docs/plugins.md.
name = "{name}"
kind = "{kind}"
version = "0.1.0"
wit = "{wit}"

[capabilities]
devices = []
read_paths = []
cgroup_controllers = []
task_environment = false

[limits]
call_deadline_ms = 100
memory_mib = 32
"#,
        wit = corral_plugin_host::engine::WIT_VERSION
    );
    let stem = name.replace('-', "_");
    let readme = format!(
        "# {name}\n\nA Corral {kind} plugin. Test natively with `cargo test`; build the component \
         with `cargo build --release --target wasm32-wasip2` \
         (target/wasm32-wasip2/release/{stem}.wasm) and install it with manifest.toml beside it \
         as {stem}.toml. See docs/plugins.md in the Corral repository.\n"
    );
    Ok(vec![
        (PathBuf::from("Cargo.toml"), cargo),
        (PathBuf::from("src/lib.rs"), lib),
        (PathBuf::from("manifest.toml"), manifest),
        (PathBuf::from("README.md"), readme),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_scaffolds_a_manifest_the_host_accepts() {
        for kind in ["allocator", "executor", "isolator", "hook", "authorizer"] {
            let files = scaffold(kind, "my-plugin", Some(Path::new("/sdk"))).expect(kind);
            let manifest = &files
                .iter()
                .find(|(p, _)| p.ends_with("manifest.toml"))
                .expect("manifest")
                .1;
            let parsed =
                corral_plugin_host::manifest::Manifest::parse(manifest).expect("valid manifest");
            assert_eq!(parsed.plugin_kind().interface(), kind);
            let lib = &files
                .iter()
                .find(|(p, _)| p.ends_with("lib.rs"))
                .expect("lib")
                .1;
            assert!(!lib.contains("{{"), "placeholders left in {kind}");
        }
    }

    #[test]
    fn bad_names_and_kinds_are_refused() {
        assert!(scaffold("isolator", "My Plugin", None).is_err());
        let err = scaffold("scheduler", "x", None).unwrap_err();
        assert!(err.to_string().contains("unknown plugin kind"), "{err}");
    }
}
