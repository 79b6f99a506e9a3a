#!/usr/bin/env bash
# Builds benchmark W8 in Release and runs it: one producer process and one consumer process
# through NatsChannel on a local single-node JetStream (file store), against the same flow
# written by hand on nats.c (the floor) and Redis Streams through hiredis, in one run.
# docs/benchmarks-nats.md says what each peer does and has the results.
#
#   scripts/bench-nats.sh [--smoke] [--build-dir DIR] [qtchannel-bench-nats run arguments...]
#
#   --smoke   2,000 items, one round: checks that every peer delivers every item exactly once
#             (CI runs this), not speed
#
# The build honours CMAKE_BUILD_PARALLEL_LEVEL. Installs what it needs from Debian's packages
# first (scripts/deps.sh core bench bench-nats).
set -euo pipefail
cd "$(dirname "$0")/.."

build=""
smoke=0
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1; shift ;;
        --build-dir) build="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
build="${build:-build/bench-nats}"
[ "$smoke" = 1 ] && args=(--items 2000 --rounds 1 --paced-items 200 "${args[@]}")

scripts/deps.sh core bench bench-nats

cmake -S . -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DQTCHANNEL_BUILD_BENCHMARKS=ON \
    -DQTCHANNEL_BUILD_NATS=ON \
    -DQTCHANNEL_BUILD_TESTS=OFF \
    -DQTCHANNEL_BUILD_EXAMPLES=OFF \
    -DQTCHANNEL_BUILD_QML=OFF \
    -DQTCHANNEL_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" --target qtchannel-bench-nats

"$build/benchmarks/nats/qtchannel-bench-nats" run "${args[@]}"
