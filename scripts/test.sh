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

step "build (the host embeds the plugins, built for wasm32-wasip2 by host/build.rs)"
cargo build --workspace --all-targets

step "lints"
cargo clippy --workspace --all-targets -- -D warnings

step "plugin logic, compiled natively"
cargo test --manifest-path plugins/Cargo.toml

step "host, SDK and end-to-end tests"
cargo test --workspace
