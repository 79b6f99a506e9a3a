#!/usr/bin/env bash
# CI: builds the benchmarks and runs every configuration once at a tiny size. Checks that
# every run's sums match (and that the results and the chart can be produced), and that the
# rows of every style are there (coroutines, select, batches, the conflated channel), not speed.
# W8 runs once at a small size too (scripts/bench-nats.sh --smoke: every item exactly once).
# Then checks the check: a run whose sum is made wrong on purpose must fail the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench-smoke
scripts/deps.sh bench-nats # W8's peers, so that the build below includes it
scripts/bench.sh --smoke --build-dir "$build" "$@"

if [ $# -eq 0 ]; then # a filtered smoke run checks only what it ran
    echo "== every workload and every QtChannel style ran"
    summary="$build/results-smoke/summary.csv"
    for row in W1,qtchannel-batch W4,qtchannel-batch W5,qtchannel-coro W5,qtchannel-coro-threads \
        W5,qpromise-then W7,qtchannel W7,qtchannel-tryrun W7,qt-mutex W7b,qtchannel-run \
        W7b,qtchannel-tryrun W7b,queued-signal W7c,qtchannel W7c,qt-cv W9,qtchannel-conflated \
        W9,latest-mutex; do
        if ! grep -q "^$row," "$summary"; then
            echo "bench-smoke: $row is missing from $summary" >&2
            exit 1
        fi
    done
fi

echo "== W8 (NatsChannel, nats.c, Redis Streams between two processes), smoke size"
scripts/bench-nats.sh --smoke --build-dir "$build"

echo "== canary: a planted sum mismatch must fail the run"
if QTCHANNEL_BENCH_PLANT_MISMATCH=1 "$build/benchmarks/qtchannel-bench" all --smoke \
    --filter '^W1/qtchannel$' --out "$build/results-canary" >/dev/null 2>&1; then
    echo "bench-smoke: a wrong sum went unnoticed" >&2
    exit 1
fi
echo "== bench-smoke passed"
