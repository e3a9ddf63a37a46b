//! The cargo-fuzz project (`fuzz/`, outside the workspace, built only on nightly) stays in
//! step with the targets: one binary per target, each a `fuzz_target!` calling the function
//! of its name, and the master's and manifest's binaries behind its `master` feature.

use std::collections::BTreeSet;
use std::path::Path;

use corral_fuzz::TARGETS;

/// The targets that need corral-fuzz's `master` feature (the master and the plugin host).
const MASTER_TARGETS: [&str; 6] = [
    "master_scheduler",
    "master_operator",
    "master_agent_subscribe",
    "master_status_update",
    "manifest",
    "manifest_section",
];

fn project() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz"))
}

/// The `[[bin]]` tables of the project's manifest.
fn bins() -> Vec<toml::Table> {
    let text = std::fs::read_to_string(project().join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("fuzz/Cargo.toml: {e}"));
    let manifest: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("fuzz/Cargo.toml: {e}"));
    manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|bins| bins.iter().filter_map(|b| b.as_table().cloned()).collect())
        .unwrap_or_default()
}

#[test]
fn every_target_has_a_binary_that_calls_it() {
    let bins = bins();
    for target in TARGETS {
        let bin = bins
            .iter()
            .find(|b| b.get("name").and_then(|n| n.as_str()) == Some(target.name))
            .unwrap_or_else(|| panic!("fuzz/Cargo.toml has no [[bin]] for {}", target.name));
        let path = bin.get("path").and_then(|p| p.as_str()).unwrap_or_default();
        assert_eq!(path, format!("fuzz_targets/{}.rs", target.name));
        let source = std::fs::read_to_string(project().join(path))
            .unwrap_or_else(|e| panic!("fuzz/{path}: {e}"));
        assert!(
            source.contains(&format!("corral_fuzz::{}(data)", target.name)),
            "fuzz/{path} does not call corral_fuzz::{}: {source}",
            target.name
        );
        let features: Vec<&str> = bin
            .get("required-features")
            .and_then(|f| f.as_array())
            .map(|f| f.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        let wanted: &[&str] = if MASTER_TARGETS.contains(&target.name) {
            &["master"]
        } else {
            &[]
        };
        assert_eq!(features, wanted, "required-features of {}", target.name);
    }
}

#[test]
fn the_project_has_no_binary_without_a_target() {
    let known: BTreeSet<&str> = TARGETS.iter().map(|t| t.name).collect();
    for bin in bins() {
        let name = bin.get("name").and_then(|n| n.as_str()).unwrap_or_default();
        assert!(
            known.contains(name),
            "fuzz/Cargo.toml builds {name}, no target"
        );
    }
    let entries = std::fs::read_dir(project().join("fuzz_targets"))
        .unwrap_or_else(|e| panic!("fuzz/fuzz_targets: {e}"));
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = file.strip_suffix(".rs").unwrap_or(&file);
        assert!(
            known.contains(name),
            "fuzz/fuzz_targets/{file} is no target"
        );
    }
}
