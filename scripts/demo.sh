#!/usr/bin/env bash
# Builds and runs the QtChannel demo: producers in worker threads, a consumer on the event
# loop, a clean end when the channel is finished.
#
# Installs what it needs from Debian's packages first (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh core
build=build/demo
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" --parallel --target example-pipeline
"$build/examples/example-pipeline"
