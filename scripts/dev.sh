#!/usr/bin/env bash
# Builds everything (host and the WASM plugins, release) and starts a single-node cluster:
# `corral dev`, a master on :5050 and an agent on :5051 with the built-in plugins.
# Extra arguments go to `corral dev` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p corral
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/release/corral" dev "$@"
