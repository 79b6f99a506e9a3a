#!/usr/bin/env bash
# Builds the benchmarks in Release and runs all of them: QtChannel against every peer
# (docs/benchmarks.md), each configuration several times round-robin, each run in a fresh process. Prints
# the table (min/median/max, QtChannel's speed-up against every peer, the targets), writes
# the results (raw.csv, summary.csv, summary.json, table.md) and draws chart.png from them.
#
#   scripts/bench.sh [--smoke] [--reps N] [--filter REGEX] [--timeout S] [--build-dir DIR]
#                    [--out DIR] [--no-publish]
#
#   --smoke       tiny sizes, one repetition: checks that every run's sums match, not speed
#                 (CI runs this; it exits non-zero if any run fails)
#   --reps N      repetitions of the round-robin (default 5)
#   --filter RE   only the configurations whose "W1/qtchannel"-style name matches
#   --timeout S   a run still going after S seconds is killed and counted as failed (default 600)
#   --out DIR     where the results go (default: <build dir>/results)
#   --no-publish  a full run normally copies its table into docs/benchmarks.md (between the
#                 results markers) and its chart to docs/benchmarks.png; this leaves docs/ alone
#
# Installs what it needs from Debian's packages first (scripts/deps.sh core bench).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
publish=1
reps=""
filter=""
timeout=""
build=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1; shift ;;
        --reps) reps="$2"; shift 2 ;;
        --filter) filter="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --build-dir) build="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --no-publish) publish=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
build="${build:-build/bench}"
if [ "$smoke" = 1 ]; then
    out="${out:-$build/results-smoke}"
    publish=0
else
    out="${out:-$build/results}"
fi
[ -n "$filter" ] && publish=0 # a partial table never replaces the published one

scripts/deps.sh core bench

cmake -S . -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DQTCHANNEL_BUILD_BENCHMARKS=ON \
    -DQTCHANNEL_BUILD_TESTS=OFF \
    -DQTCHANNEL_BUILD_EXAMPLES=OFF \
    -DQTCHANNEL_BUILD_QML=OFF \
    -DQTCHANNEL_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" --parallel

args=(all --out "$out")
[ "$smoke" = 1 ] && args+=(--smoke)
[ -n "$reps" ] && args+=(--reps "$reps")
[ -n "$filter" ] && args+=(--filter "$filter")
[ -n "$timeout" ] && args+=(--timeout "$timeout")

status=0
"$build/benchmarks/qtchannel-bench" "${args[@]}" || status=$?

if [ -s "$out/table.md" ]; then
    gnuplot -e "dir='$out'" benchmarks/chart.gp
    echo "== chart: $out/chart.png"
fi

if [ "$status" = 0 ] && [ "$publish" = 1 ]; then
    # Replace what lies between the markers in docs/benchmarks.md with this run's table.
    awk -v table="$out/table.md" '
        /<!-- results:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
        /<!-- results:end -->/ { skip = 0 }
        !skip { print }' docs/benchmarks.md >"$out/benchmarks.md"
    mv "$out/benchmarks.md" docs/benchmarks.md
    cp "$out/chart.png" docs/benchmarks.png
    echo "== published: docs/benchmarks.md (results section) and docs/benchmarks.png"
fi

if [ "$status" != 0 ]; then
    echo "== bench.sh: some runs FAILED (see above)" >&2
    exit "$status"
fi
echo "== bench.sh: every run's sums matched"
