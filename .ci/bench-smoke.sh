#!/usr/bin/env bash
# CI: builds the benchmarks and runs every configuration once at a tiny size. Checks that
# every run's sums match (and that the results and the chart can be produced), not speed.
# Then checks the check: a run whose sum is made wrong on purpose must fail the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench-smoke
scripts/bench.sh --smoke --build-dir "$build" "$@"

echo "== canary: a planted sum mismatch must fail the run"
if QTCHANNEL_BENCH_PLANT_MISMATCH=1 "$build/benchmarks/qtchannel-bench" all --smoke \
    --filter '^W1/qtchannel$' --out "$build/results-canary" >/dev/null 2>&1; then
    echo "bench-smoke: a wrong sum went unnoticed" >&2
    exit 1
fi
echo "== bench-smoke passed"
