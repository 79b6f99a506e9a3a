#!/usr/bin/env bash
# CI for the reliability suites, time-boxed: the libFuzzer target for a bounded time
# from the committed seed corpus (clang, AddressSanitizer + UndefinedBehaviorSanitizer), the
# soak test for 60 s, and the test suite under valgrind's memcheck. The ordinary reliability
# tests (label `reliability`) run with everything else in scripts/test.sh, normal and under
# both sanitizers.
#
#   .ci/reliability.sh            # what CI runs
#   FUZZ_SECONDS=3600 SOAK=1h .ci/reliability.sh    # longer (see docs/reliability.md)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds="${FUZZ_SECONDS:-120}"
soak="${SOAK:-60s}"
start=$SECONDS
step() { echo; echo "=== reliability: $* ($((SECONDS - start)) s)"; }

step "libFuzzer: ${fuzz_seconds} s against the reference model, ASan + UBSan"
scripts/deps.sh core fuzz
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
    -DQTCHANNEL_SANITIZE=address,undefined -DQTCHANNEL_BUILD_FUZZERS=ON \
    -DQTCHANNEL_WARNINGS_AS_ERRORS=ON -DQTCHANNEL_BUILD_EXAMPLES=OFF -DQTCHANNEL_BUILD_QML=OFF \
    >/dev/null
cmake --build build/fuzz --parallel 2 --target fuzz_channel
corpus=build/fuzz/corpus
mkdir -p "$corpus"
# New inputs go to the scratch corpus; the committed seeds are read only. -fork would need
# more cores than CI has.
log=build/fuzz/fuzz.log
if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 QT_FORCE_STDERR_LOGGING=1 \
    build/fuzz/tests/reliability/fuzz_channel -max_total_time="$fuzz_seconds" -timeout=20 \
    -rss_limit_mb=4096 -max_len=1025 -print_final_stats=1 -artifact_prefix=build/fuzz/ \
    "$corpus" tests/reliability/corpus >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "fuzzer: FAILED; the input is in build/fuzz/crash-* (replay: fuzz_channel FILE)"
    exit 1
fi
grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|peak_rss)" "$log"

step "soak: ${soak} of the mixed workload (normal build)"
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQTCHANNEL_WARNINGS_AS_ERRORS=ON -DQTCHANNEL_SANITIZE= >/dev/null
cmake --build build/test --parallel 2 --target qtchannel-soak
build/test/tests/reliability/qtchannel-soak "$soak"

step "valgrind memcheck over the test suite"
scripts/memcheck.sh --build-dir build/test

step "reliability CI passed in $((SECONDS - start)) s"
