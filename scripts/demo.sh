#!/usr/bin/env bash
# Builds and runs qtchannel-demo: producer threads, a QtChannel and consumer threads, on
# screen. With a display (DISPLAY or WAYLAND_DISPLAY) it opens the window; without one it runs
# the headless scenario (start, run a few seconds, close, wait until the channel is finished)
# and writes a screenshot and the figures under build/demo/out.
#
#   scripts/demo.sh [qtchannel-demo options...]     e.g. --producers 8 --capacity small
#
# Installs what it needs from Debian's packages first (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh core qml
build=build/demo
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQTCHANNEL_BUILD_TESTS=OFF \
    -DQTCHANNEL_BUILD_EXAMPLES=OFF -DQTCHANNEL_BUILD_QML=ON >/dev/null
cmake --build "$build" --parallel 2 --target qtchannel-demo
demo="$build/examples/qml-demo/qtchannel-demo"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [[ " $* " != *" --headless "* ]]; then
    exec "$demo" "$@"
fi
out="$PWD/$build/out"
echo "demo.sh: no display, running the headless scenario (output in $out)"
exec "$demo" --headless --out "$out" "$@"
