#!/usr/bin/env bash
# Profiles one benchmark configuration with valgrind's callgrind, which counts instructions:
# stable on a loaded machine, unlike wall time. Builds Release with debug info in
# build/bench-prof, runs the configuration at the given size and prints the functions with the
# highest inclusive and exclusive instruction counts, per item.
#
#   scripts/bench-profile.sh WORKLOAD IMPL [SIZE] [TOP]
#   scripts/bench-profile.sh W5 qtchannel-nonwaiting 200000
#
# The last list counts calls per item of the functions matching PROFILE_FUNCTIONS (an awk
# regular expression; the default covers QtChannel, signals, allocations, futures and futexes).
#
# Valgrind runs one thread at a time, so for the threaded workloads (W1-W4) the counts show
# the cost of each call path and how often spinning and waking happen under that schedule,
# not the contention of a real two-core run. The callgrind file stays in build/bench-prof/ for
# callgrind_annotate or kcachegrind.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
workload="$1"
impl="$2"
size="${3:-100000}"
top="${4:-30}"
build=build/bench-prof
interesting="${PROFILE_FUNCTIONS:-QtChannel::|QMetaObject::activate|QCoreApplication::postEvent|invokeMethodImpl|^malloc\$|^operator new|QFutureInterfaceBase::QFutureInterfaceBase\\(QFutureInterfaceBase::State|QFutureInterfaceBase::reportFinished\\(\\)|^syscall\$|QMutex::lock|QBasicMutex::lockInternal|QWaitCondition::(wake|wait)|pthread_cond_(signal|wait|broadcast)|sched_yield}"

scripts/deps.sh core bench memcheck
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-g" \
    -DQTCHANNEL_BUILD_BENCHMARKS=ON -DQTCHANNEL_BUILD_TESTS=OFF -DQTCHANNEL_BUILD_EXAMPLES=OFF \
    -DQTCHANNEL_BUILD_QML=OFF >/dev/null
cmake --build "$build" --parallel >/dev/null

file="$build/callgrind.$workload.$impl.out"
valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$build/benchmarks/qtchannel-bench" run "$workload" "$impl" "$size" 2>/dev/null | tee "$build/result.txt"
items=$(sed -n 's/.*items=\([0-9]*\).*/\1/p' "$build/result.txt")

per_item() {
    # callgrind_annotate lines: "  1,234,567 (12.34%)  file:function [object]". Inlined code
    # is reported per source file: a function's exclusive costs are summed over its files, its
    # inclusive cost is the largest entry (the others are parts of it). callgrind may list one
    # entry under both an absolute and a relative path; it counts once. With $1 = skip, the
    # call chain down to the workload (every function above 90% of the total) is left out.
    awk -v items="$items" -v top="$top" -v mode="${1:-}" '
        /^-+$/ { dashes++; next }
        dashes >= 3 && /^ *[0-9,]+ / {
            ir = $1; gsub(",", "", ir); ir += 0
            fn = $0; sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", fn); sub(/ \[.*$/, "", fn)
            sub(/^[^:(]*:/, "", fn); sub(/ \([0-9,]+x\)$/, "", fn)
            if (fn == "PROGRAM TOTALS") { total = ir; next }
            if ((ir SUBSEP fn) in seen) next # the same entry under an absolute and a relative path
            seen[ir, fn] = 1
            if (!(fn in sum)) order[n++] = fn
            if (mode == "skip") { if (ir > sum[fn]) sum[fn] = ir } # inclusive: the largest
            else sum[fn] += ir                                             # exclusive: the sum
        }
        END {
            for (i = 0; i < n; i++) {
                fn = order[i]
                if (mode == "skip" && sum[fn] > 0.9 * total) continue
                printf "%10.1f  %s\n", sum[fn] / items, substr(fn, 1, 140)
            }
        }' | sort -rn | awk -v top="$top" 'NR <= top' # awk, not head: no SIGPIPE under pipefail
}

total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }')
echo
echo "== $(awk -v t="$total" -v n="$items" 'BEGIN { printf "%.1f", t / n }') instructions per item in all ($items items)"
echo
echo "== instructions per item, inclusive (without the call chain down to the workload)"
callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$file" 2>/dev/null | per_item skip
echo
echo "== instructions per item, exclusive"
callgrind_annotate --threshold=100 --auto=no "$file" 2>/dev/null | per_item
echo
echo "== calls per item and instructions per call (inclusive) of the functions that matter"
# Reads callgrind's own format: "cfn=(id) name" names a callee (later just "cfn=(id)"),
# "calls=N ..." is followed by a line whose second field is the inclusive cost of those calls.
PATTERN="$interesting" awk -v items="$items" '
    function name(rest,    id, nm) {
        if (match(rest, /^\([0-9]+\)/)) {
            id = substr(rest, 2, RLENGTH - 2); nm = substr(rest, RLENGTH + 2)
            if (nm != "") names[id] = nm
            return names[id]
        }
        return rest
    }
    /^c?fn=/ { sub(/^c?fn=/, ""); callee = name($0); next }
    /^calls=/ { split(substr($0, 7), f, " "); pending = f[1]; next }
    pending != "" { calls[callee] += pending; cost[callee] += $2; pending = ""; next }
    END {
        for (fn in calls)
            if (fn ~ ENVIRON["PATTERN"])
                printf "%9.1f %9.3f %9.0f  %s\n", cost[fn] / items, calls[fn] / items,
                    cost[fn] / calls[fn], substr(fn, 1, 110)
    }' "$file" | sort -rn | awk -v top="$top" 'BEGIN { print "instr/item calls/item instr/call" } NR <= top'
echo
echo "== callgrind data: $file"
