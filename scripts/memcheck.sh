#!/usr/bin/env bash
# Runs the test suite under valgrind's memcheck: every CTest test of the normal build (the
# one scripts/test.sh makes), each in valgrind, two at a time. Fails on any memcheck error or
# definite leak. The long-running tests are scaled down (valgrind is some 20-50 times
# slower); the soak, the sanitizer-only tests and the tests labelled nats (real servers, peer
# processes with network deadlines, and shell scripts whose own leaks valgrind would report;
# ASan and TSan cover that library) are skipped.
#
#   scripts/memcheck.sh [--build-dir DIR] [--jobs N] [TEST_REGEX]
#
# Logs: DIR/memcheck/<test>.log. Installs what it needs first (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/test
jobs=2
regex=""
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        *) regex="$1"; shift ;;
    esac
done

scripts/deps.sh core memcheck
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQTCHANNEL_WARNINGS_AS_ERRORS=ON -DQTCHANNEL_SANITIZE= >/dev/null
cmake --build "$build" --parallel 2

logs="$(cd "$build" && pwd)/memcheck"
rm -rf "$logs"
mkdir -p "$logs"
ctest --test-dir "$build" --show-only=json-v1 >"$logs/tests.json"

# Scaled-down loads for valgrind; QtTest's watchdog must not fire on a slow test.
export QTCHANNEL_MODEL_RUNS=5 QTCHANNEL_STRESS_SCALE=0.02 QTEST_FUNCTION_TIMEOUT=1800000

python3 - "$logs" "$jobs" "$regex" "$PWD/tests/valgrind.supp" <<'PY'
import concurrent.futures, json, os, re, subprocess, sys, time

logs, jobs, regex, supp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
skip = re.compile(r"^(soak_short|tsan_canary|fuzz_channel_corpus|tst_nats.*|.*nats.*canary.*)$")
tests = []
for t in json.load(open(os.path.join(logs, "tests.json")))["tests"]:
    if skip.match(t["name"]) or (regex and not re.search(regex, t["name"])):
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    if "nats" in props.get("LABELS", []):
        continue
    env = dict(os.environ)
    for kv in props.get("ENVIRONMENT", []):
        k, _, v = kv.partition("=")
        env[k] = v
    tests.append((t["name"], t["command"], props.get("WORKING_DIRECTORY"), env))

def run(test):
    name, command, cwd, env = test
    log = os.path.join(logs, name + ".log")
    # --fair-sched=yes: valgrind runs one thread at a time, and its default lock lets a thread
    # that never blocks in a system call (a test's polling loop) take it back again and again,
    # so a thread whose futex wait has returned may never run again (seen in tst_threads: the
    # channel had served and unparked the thread; it stayed in "WaitSys" for minutes).
    valgrind = ["valgrind", "--tool=memcheck", "--fair-sched=yes", "--error-exitcode=99",
                "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
                "--num-callers=40", "--suppressions=" + supp, "--log-file=" + log]
    start = time.monotonic()
    with open(os.path.join(logs, name + ".out"), "w") as out:
        rc = subprocess.call(valgrind + command, cwd=cwd, env=env, stdout=out,
                             stderr=subprocess.STDOUT)
    text = open(log).read()
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    errors = int(m.group(1)) if m else -1
    return name, rc, errors, time.monotonic() - start

failed = 0
with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
    for name, rc, errors, secs in pool.map(run, tests):
        ok = rc == 0 and errors == 0
        failed += not ok
        print(f"memcheck: {name:<28} {'ok' if ok else 'FAILED'}  exit {rc}, "
              f"{errors} errors, {secs:.0f} s", flush=True)
print(f"memcheck: {len(tests) - failed} passed, {failed} failed")
if failed:
    print(f"memcheck: see {logs}/<test>.log and .out")
sys.exit(1 if failed else 0)
PY
