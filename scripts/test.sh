#!/usr/bin/env bash
# The whole test suite: formatting and lints, the plugins' native unit tests, the host's unit
# and integration tests, and end-to-end tests that start real `corral` processes (and a real
# third-party Mesos client, pymesos) on loopback ports. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path plugins/Cargo.toml --all -- --check

# Every step builds the same feature set (the benchmarks included), so none rebuilds another's.
features=(--features corral/bench)

step "build (corral-builtin-plugins and corral-test-fixtures build the WASM components)"
cargo build --workspace --all-targets "${features[@]}"

step "lints (the [workspace.lints] table in Cargo.toml; any warning fails)"
cargo clippy --workspace --all-targets "${features[@]}"

step "plugin logic, compiled natively"
cargo test --manifest-path plugins/Cargo.toml

step "host crates, SDK and end-to-end tests"
cargo test --workspace "${features[@]}"
