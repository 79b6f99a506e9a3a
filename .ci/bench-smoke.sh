#!/usr/bin/env bash
# CI: builds the benchmarks and runs every configuration once at a tiny size. Checks that
# every run's sums match (and that the results and the chart can be produced), not speed.
# W8 runs once at a small size too (scripts/bench-nats.sh --smoke: every item exactly once).
# Then checks the check: a run whose sum is made wrong on purpose must fail the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench-smoke
scripts/deps.sh bench-nats # W8's peers, so that the build below includes it
scripts/bench.sh --smoke --build-dir "$build" "$@"

echo "== W8 (NatsChannel, nats.c, Redis Streams between two processes), smoke size"
scripts/bench-nats.sh --smoke --build-dir "$build"

echo "== canary: a planted sum mismatch must fail the run"
if QTCHANNEL_BENCH_PLANT_MISMATCH=1 "$build/benchmarks/qtchannel-bench" all --smoke \
    --filter '^W1/qtchannel$' --out "$build/results-canary" >/dev/null 2>&1; then
    echo "bench-smoke: a wrong sum went unnoticed" >&2
    exit 1
fi
echo "== bench-smoke passed"
