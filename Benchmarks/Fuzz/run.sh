#!/usr/bin/env bash
# Fuzzes every parser a user feeds the tuner with libFuzzer (the Swift toolchain's), from the
# repository root:
#   bash Benchmarks/Fuzz/run.sh [RUNS] [TARGET...]      # RUNS per target, default 1000000
# Builds Benchmarks/Fuzz/ParserFuzzer with --sanitize fuzzer into .build-fuzz ($FUZZ_BUILD), seeds each target
# from Benchmarks/Fuzz/Seeds/<target> (plus the repository's own files of that kind), runs it in a
# scratch corpus under .build-fuzz/corpus/<target>, and prints one line per target: executions,
# coverage (libFuzzer's cov: edges, ft: features), corpus size, seconds and crashes. A crash
# leaves its input in .build-fuzz/findings/<target>/ (moved to findings-earlier/ by the next run)
# and makes the script exit 1; such an input becomes a regression test and a seed under
# Benchmarks/Fuzz/Seeds/<target>/ when it is fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-1000000}
shift || true
targets=("$@")
build=${FUZZ_BUILD:-.build-fuzz}
[ ${#targets[@]} -gt 0 ] || targets=(policy-yaml manifest corpus queries request-log decision-log archive checkpoint evaluate-request)

RAGTUNER_FUZZ=1 swift build -c release --sanitize fuzzer --build-path $build --product ParserFuzzer >&2
fuzzer=$build/release/ParserFuzzer
seeds=Benchmarks/Fuzz/Seeds

# Seeds taken from the repository as they are, so they follow its formats.
mkdir -p $build/seeds/{policy-yaml,manifest,corpus,queries}
cp configs/rl/policy*.yaml $build/seeds/policy-yaml/
cp datasets/demo/manifest.yaml datasets/manifests/*.yaml $build/seeds/manifest/ 2>/dev/null || true
head -n 20 datasets/demo/corpus.jsonl > $build/seeds/corpus/demo.jsonl
head -n 20 datasets/demo/queries.jsonl > $build/seeds/queries/demo.jsonl
FUZZ_TARGET=checkpoint FUZZ_WRITE_SEEDS=$build/seeds "$fuzzer" >/dev/null 2>&1

status=0
printf '%-17s %10s %6s %6s %9s %8s %7s\n' target execs cov ft corpus seconds crashes
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t findings=$build/findings/$t
    # An earlier run's crash inputs move aside, so the count below is this run's.
    if [ -n "$(ls -A "$findings" 2>/dev/null)" ]; then mkdir -p "$build/findings-earlier/$t"; mv "$findings"/* "$build/findings-earlier/$t/"; fi
    mkdir -p "$corpus" "$findings"
    from=()
    for d in "$seeds/$t" "$build/seeds/$t"; do [ -d "$d" ] && from+=("$d"); done
    [ "$t" = archive ] && from+=($build/seeds/checkpoint)
    start=$(date +%s)
    log=$build/$t.log
    # The Swift runtime's backtracer would catch the signal before libFuzzer saves the input.
    SWIFT_BACKTRACE=enable=no FUZZ_TARGET=$t "$fuzzer" "$corpus" "${from[@]}" -runs="$runs" -max_len=65536 -timeout=10 \
        -rss_limit_mb=4096 -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1 || true
    seconds=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo 0)
    size=$(ls "$corpus" | wc -l)
    crashes=$(ls "$findings" | wc -l)
    printf '%-17s %10s %6s %6s %9s %8s %7s\n' "$t" "${execs:-0}" "$cov" "$ft" "$size" "$seconds" "$crashes"
    [ "$crashes" -eq 0 ] || status=1
done
exit $status
