#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo-fuzz (libFuzzer, AddressSanitizer) on a nightly
# toolchain: runs one target, or all, for a bounded time each, and prints executions, speed
# and coverage per target. CI does not run this (it runs the stable runner,
# `cargo test -p corral-fuzz --test fuzz`); docs/fuzzing.md says more.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     default: all, 60 seconds each
#
# `all` is the decoder targets; CORRAL_FUZZ_MASTER=1 adds the master's and the manifest's
# (their build compiles wasmtime and cranelift with the sanitizer, and the built-in WASM
# plugins with the nightly's wasm32-wasip2 target). Naming one of those runs it with the
# `master` feature. Each run starts from crates/fuzz/corpus/TARGET and
# crates/fuzz/regressions/TARGET, and writes the inputs it finds to a scratch corpus
# ($CORRAL_FUZZ_WORK/TARGET, by default under the target dir), never to the committed one.
# CORRAL_FUZZ_KEEP=1 then adds to crates/fuzz/corpus/TARGET the scratch inputs that reach the
# most edges the corpus does not, per byte, up to CORRAL_FUZZ_KEEP_BYTES (10000) per target:
# libFuzzer's -merge=1 (what `cargo fuzz cmin` runs) measures the edges, scripts/fuzz_keep.py
# picks, so that the committed corpus stays small. A crash is saved under
# crates/fuzz/fuzz/artifacts/TARGET/: keep it in crates/fuzz/regressions/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../crates/fuzz"

target=${1:-all}
seconds=${2:-60}
case $seconds in
'' | *[!0-9]*)
    echo "fuzz.sh: SECONDS must be a number, got '$seconds'" >&2
    exit 2
    ;;
esac

# What the run needs: a nightly toolchain (the sanitizer flags are nightly-only) and cargo-fuzz.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

master_targets=" master_scheduler master_operator master_agent_subscribe master_status_update manifest manifest_section "
all_targets=$(cargo +nightly fuzz list --fuzz-dir fuzz)
if [[ $target == all ]]; then
    targets=()
    for t in $all_targets; do
        if [[ $master_targets != *" $t "* || ${CORRAL_FUZZ_MASTER:-0} == 1 ]]; then
            targets+=("$t")
        fi
    done
elif grep -qx -- "$target" <<<"$all_targets"; then
    targets=("$target")
else
    echo "fuzz.sh: no target '$target'; the targets:" $all_targets >&2
    exit 2
fi

features=()
for t in "${targets[@]}"; do
    [[ $master_targets == *" $t "* ]] && features=(--features master)
done
# The master's build compiles the built-in WASM plugins (corral-builtin-plugins' build
# script) for wasm32-wasip2 with the same toolchain.
if ((${#features[@]} > 0)) && ! rustup target list --installed --toolchain nightly | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2 --toolchain nightly
fi

work=${CORRAL_FUZZ_WORK:-${CARGO_TARGET_DIR:-$PWD/fuzz/target}/fuzz-corpus}
# One build first, so that its output stays out of the runs' logs.
build=()
((${#targets[@]} == 1)) && build=("${targets[0]}")
cargo +nightly fuzz build --fuzz-dir fuzz "${features[@]}" "${build[@]}"

# The value of libFuzzer's `stat::NAME:` line (-print_final_stats=1) in a log.
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    dirs=("$work/$t")
    for d in corpus/$t regressions/$t; do
        [[ -d $d ]] && dirs+=("$d")
    done
    log="$work/$t.log"
    echo "== $t: $seconds s (log: $log)" >&2
    rc=0
    cargo +nightly fuzz run --fuzz-dir fuzz "${features[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || rc=$?
    runs=$(stat number_of_executed_units "$log")
    speed=$(stat average_exec_per_sec "$log")
    # The status lines: "#N  INITED cov: C ft: F corp: U/S ..." once the seed corpus ran,
    # the last one ("DONE") at the end.
    seeded=$(grep -E '^#[0-9]+.*INITED' "$log" | sed -n 's/.* cov: \([0-9]*\).*/\1/p' || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    if ((rc != 0)); then
        failed+=("$t")
        tail -n 40 "$log" >&2
        summary+=("$(printf '%-24s %12s %8s %10s %6s %10s  CRASH (rc %s): see %s' "$t" "${runs:-?}" \
            "${speed:-?}" "${seeded:-?}->${cov:-?}" "${ft:-?}" "${corp:-?}" "$rc" "$log")")
        continue
    fi
    summary+=("$(printf '%-24s %12s %8s %10s %6s %10s' "$t" "${runs:-?}" "${speed:-?}" \
        "${seeded:-?}->${cov:-?}" "${ft:-?}" "${corp:-?}")")
    if [[ ${CORRAL_FUZZ_KEEP:-0} == 1 ]]; then
        # Merge into a scratch copy of the corpus for the control file (the edges each input
        # reaches), then keep the inputs that add the most edges per byte, within a budget.
        scratch=$(mktemp -d)
        mkdir -p "corpus/$t"
        cp -r "corpus/$t" "$scratch/corpus"
        cargo +nightly fuzz run --fuzz-dir fuzz "${features[@]}" "$t" "$scratch/corpus" "$work/$t" -- \
            -merge=1 -use_counters=0 -merge_control_file="$scratch/control" >"$work/$t.merge.log" 2>&1
        echo "$t: $(../../scripts/fuzz_keep.py "$scratch/control" "${CORRAL_FUZZ_KEEP_BYTES:-10000}" "corpus/$t")" >&2
        rm -rf "$scratch"
    fi
done

printf '\n%-24s %12s %8s %10s %6s %10s\n' target executions 'exec/s' 'cov' ft 'corpus'
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "fuzz.sh: crashes in ${failed[*]} (inputs under crates/fuzz/fuzz/artifacts/)" >&2
    exit 1
fi
