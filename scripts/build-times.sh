#!/usr/bin/env bash
# Build times of one commit, for docs/benchmarks.md: a fresh clone, each figure with its own
# empty target dir, crates fetched first so that downloads are not timed. Run it on a quiet
# machine (nothing else compiling), one commit after the other, in one session:
#   scripts/build-times.sh OUT_DIR COMMIT CORE_FILE
# CORE_FILE is the master core's file at that commit (host/src/master/core.rs before the crate
# split, crates/master/src/core.rs after); the one-line change appends a comment to it.
set -uo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 OUT_DIR COMMIT CORE_FILE" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$1 commit=$2 core=$3
mkdir -p "$out"
out=$(cd "$out" && pwd)
times=$out/times.txt
rm -rf "$out/src" && git clone -q "$repo" "$out/src" && cd "$out/src" && git checkout -q "$commit"
cargo fetch -q && cargo fetch -q --manifest-path plugins/Cargo.toml
echo "commit $(git log --oneline -1)" > "$times"

step() { # NAME COMMAND...: times one command, its output in OUT_DIR/NAME.log
  local name=$1
  shift
  echo "load before $name: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$times"
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$@" > "$out/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  awk -v n="$name" -v a="$t0" -v b="$t1" -v rc="$rc" 'BEGIN { printf "%s: %.1f s (exit %s)\n", n, b - a, rc }' >> "$times"
}
one_line_change() { echo "// a one-line change, for the build measurement" >> "$core"; }

export CARGO_TERM_COLOR=never
unset RUSTC_WRAPPER
export CARGO_TARGET_DIR=$out/target-debug
step debug-cold cargo build -p corral
one_line_change
step debug-one-line cargo build -p corral
git checkout -q -- "$core"
export CARGO_TARGET_DIR=$out/target-release
step release-cold cargo build --release -p corral
one_line_change
step release-one-line cargo build --release -p corral
git checkout -q -- "$core"
export CARGO_TARGET_DIR=$out/target-ci
step ci-cold ./.ci/run
rm -rf "$out/target-debug" "$out/target-release" "$out/target-ci"
cat "$times"
