#!/usr/bin/env bash
# Builds QtChannel with warnings as errors and runs every test. Without a sanitizer it also
# installs the package and builds two consumers: one with find_package() against the install,
# one with add_subdirectory() on this checkout.
#
#   scripts/test.sh [--sanitize address,undefined|thread] [--build-dir DIR] [ctest args...]
#
# Installs what it needs from Debian's packages first (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
build=""
ctest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sanitize) sanitize="$2"; shift 2 ;;
        --build-dir) build="$2"; shift 2 ;;
        *) ctest_args+=("$1"); shift ;;
    esac
done
build="${build:-build/test${sanitize:+-${sanitize//,/-}}}"

scripts/deps.sh core qml coro nats

cmake -S . -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQTCHANNEL_WARNINGS_AS_ERRORS=ON \
    -DQTCHANNEL_SANITIZE="$sanitize"
cmake --build "$build" --parallel
ctest --test-dir "$build" --output-on-failure --parallel 2 "${ctest_args[@]}"

if [ -z "$sanitize" ] && [ ${#ctest_args[@]} -eq 0 ]; then
    echo "== consumers: find_package() against an install, and add_subdirectory()"
    prefix="$PWD/$build/install"
    rm -rf "$prefix" "$build/consumer-install" "$build/consumer-subproject"
    cmake --install "$build" --prefix "$prefix" >/dev/null
    expect_nats=OFF
    [ -f "$prefix/lib/cmake/QtChannel/QtChannelNatsTargets.cmake" ] && expect_nats=ON
    cmake -S tests/install -B "$build/consumer-install" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
        -DQTCHANNEL_EXPECT_NATS=$expect_nats >/dev/null
    cmake --build "$build/consumer-install"
    "$build/consumer-install/install-consumer"
    if [ "$expect_nats" = ON ]; then
        echo "== consumer of the installed Nats component: find_package(QtChannel COMPONENTS Nats)"
        "$build/consumer-install/install-consumer-nats"
    fi
    if [ -f "$prefix/lib/cmake/QtChannel/QtChannelQmlTargets.cmake" ]; then
        echo "== consumers of the installed QML module: import QtChannel, and sharing a channel"
        rm -rf "$build/consumer-qml"
        cmake -S tests/install-qml -B "$build/consumer-qml" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
        cmake --build "$build/consumer-qml"
        QT_QPA_PLATFORM=offscreen "$build/consumer-qml/qml-import-consumer"
        QT_QPA_PLATFORM=offscreen "$build/consumer-qml/qml-share-consumer"
    fi
    cmake -S tests/subproject -B "$build/consumer-subproject" -G Ninja >/dev/null
    cmake --build "$build/consumer-subproject"
    "$build/consumer-subproject/subproject-consumer"
fi
echo "== all tests passed (${sanitize:-no sanitizer})"
