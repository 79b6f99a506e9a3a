#!/usr/bin/env bash
# CI: builds the benchmarks and runs every configuration once at a tiny size. Checks that
# every run's sums match (and that the results and the chart can be produced), not speed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/bench.sh --smoke "$@"
