#!/usr/bin/env bash
# The demo across processes: builds qtchannel-demo with its NATS mode, starts a local
# nats-server with JetStream (its own port and store under build/demo-nats), and runs producer,
# consumer and view processes around one NatsChannel. Once every producer is done it closes the
# channel (one `--role close`), waits until the consumers have drained it, and proves that the
# set of items produced equals the set consumed: nothing lost, nothing taken twice.
#
#   scripts/demo-nats.sh [--producers N] [--consumers N] [--items N] [--capacity C] [--work MS]
#                        [--headless] [--timeout S] [--dir DIR] [--demo PATH] [--plant WHAT]
#
#   --producers N   producer processes (default 3), each putting --items items (default 2000)
#   --consumers N   consumer processes (default 2), each spending --work ms per item (default 1)
#   --capacity C    the channel's bound (default 32): producers wait while it is full
#   --headless      the view offscreen, also with a display: it writes DIR/out/screenshot.png
#                   and DIR/out/figures.json (always so without a display)
#   --timeout S     each process's limit (default 120)
#   --dir DIR       where the server's store, the logs and the records go (default
#                   build/demo-nats; emptied first)
#   --demo PATH     use this qtchannel-demo, built with NATS: no package installation and no
#                   build (the ctest does this); exits 77 when nats-server is not installed
#   --plant WHAT    for the test of this check: tampers with the consumers' records before the
#                   comparison (loss: drops one item; duplicate: takes one item twice; both)
#
# Exit code 0 with "finished, nothing lost: N produced, N consumed", 1 with the reason
# otherwise, 2 for bad options. Installs what it needs from Debian's packages first
# (scripts/deps.sh core qml nats); run it as root, or as a user who may sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

producers=3
consumers=2
items=2000
capacity=32
work=1
headless=0
timeout=120
dir=build/demo-nats
demo=""
plant=""
usage() { sed -n '2,26p' "$0"; }
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || case "$1" in --headless|-h|--help) ;; *) echo "demo-nats.sh: $1 needs a value" >&2; exit 2 ;; esac
    case "$1" in
        --producers) producers="$2"; shift 2 ;;
        --consumers) consumers="$2"; shift 2 ;;
        --items) items="$2"; shift 2 ;;
        --capacity) capacity="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --demo) demo="$2"; shift 2 ;;
        --plant) plant="$2"; shift 2 ;;
        --headless) headless=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "demo-nats.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in producers consumers items timeout; do
    [[ "${!n}" =~ ^[0-9]+$ ]] && [ "${!n}" -ge 1 ] ||
        { echo "demo-nats.sh: --$n must be a whole number >= 1, not '${!n}'" >&2; exit 2; }
done
case "$plant" in ""|loss|duplicate|both) ;; *) echo "demo-nats.sh: --plant loss|duplicate|both" >&2; exit 2 ;; esac

# --- the demo, with its NATS mode
if [ -z "$demo" ]; then
    scripts/deps.sh core qml nats
    build=build/demo
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQTCHANNEL_BUILD_TESTS=OFF \
        -DQTCHANNEL_BUILD_EXAMPLES=OFF -DQTCHANNEL_BUILD_QML=ON -DQTCHANNEL_BUILD_NATS=ON >/dev/null
    cmake --build "$build" --parallel 2 --target qtchannel-demo
    demo="$build/examples/qml-demo/qtchannel-demo"
fi
server_program=$(PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v nats-server || true)
if [ -z "$server_program" ]; then
    echo "demo-nats.sh: nats-server is not installed (scripts/deps.sh nats installs it)" >&2
    exit 77
fi
if ! "$demo" --nats nats://127.0.0.1:4222 --help >/dev/null 2>&1; then
    "$demo" --nats nats://127.0.0.1:4222 --help >&2 || true
    echo "demo-nats.sh: $demo has no NATS mode (is libnats-dev installed? scripts/deps.sh nats)" >&2
    exit 1
fi
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || headless=1

# Emptied first, but only a directory this script made (it leaves a marker there).
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/.demo-nats" ]; then
    echo "demo-nats.sh: $dir is not empty and was not made by this script; pick another --dir" >&2
    exit 2
fi
rm -rf "$dir"
mkdir -p "$dir/store" "$dir/ports" "$dir/out" "$dir/logs"
touch "$dir/.demo-nats"
dir=$(cd "$dir" && pwd)
out="$dir/out"
logs="$dir/logs"

# --- the processes this script starts, stopped with it whatever happens
declare -A pids=()
server_pid=""
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# --- a local server: JetStream on, a port of its own choosing, reported in the ports file
"$server_program" -js -a 127.0.0.1 -p -1 -sd "$dir/store" --ports_file_dir "$dir/ports" \
    -l "$logs/nats-server.log" &
server_pid=$!
url=""
for _ in $(seq 150); do # the server writes the file once it listens: up to 15 s
    url=$(grep -o 'nats://[^"]*' "$dir/ports/nats-server_$server_pid.ports" 2>/dev/null | head -n1 || true)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null ||
        { echo "demo-nats.sh: nats-server exited:" >&2; tail -n 20 "$logs/nats-server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "demo-nats.sh: nats-server did not report its port in 15 s" >&2; exit 1; }
echo "demo-nats.sh: nats-server (JetStream) on $url, store $dir/store"

channel=qtchannel-demo
common=(--nats "$url" --channel "$channel" --capacity "$capacity" --out "$out")
# role NAME ARGS...: one qtchannel-demo process in the background, its output in logs/NAME.log.
role() {
    local name=$1
    shift
    # A bound for a process that hangs; the view's own --timeout comes first.
    timeout --kill-after=5 "$((timeout + 15))" "$demo" "${common[@]}" "$@" >"$logs/$name.log" 2>&1 &
    pids[$name]=$!
}
# finish NAME: waits for it; prints its log and returns its exit code.
finish() {
    local code=0
    wait "${pids[$1]}" || code=$?
    unset "pids[$1]"
    sed 's/^/  /' "$logs/$1.log" | grep -v XDG_RUNTIME_DIR || true
    return $code
}
failures=()

view_args=(--role view --producers "$producers" --consumers "$consumers" --timeout "$timeout")
[ "$headless" = 1 ] && view_args+=(--headless)
role view "${view_args[@]}"
for ((k = 1; k <= consumers; ++k)); do
    role "consumer-$k" --role consumer --consumer-id "$k" --work "$work"
done
for ((k = 1; k <= producers; ++k)); do
    role "producer-$k" --role producer --producer-id "$k" --items "$items"
done
echo "demo-nats.sh: $producers producer, $consumers consumer processes and the view started" \
    "(pids ${pids[*]}); logs in $logs"

# Exactly one close, and only once every producer is done.
for ((k = 1; k <= producers; ++k)); do
    finish "producer-$k" || failures+=("producer $k failed (exit $?)")
done
close_code=0
timeout --kill-after=5 "$timeout" "$demo" "${common[@]}" --role close >"$logs/close.log" 2>&1 ||
    close_code=$?
sed 's/^/  /' "$logs/close.log"
[ "$close_code" = 0 ] || failures+=("the close failed (exit $close_code)")
for ((k = 1; k <= consumers; ++k)); do
    finish "consumer-$k" || failures+=("consumer $k did not see the channel finished (exit $?)")
done
if [ ${#failures[@]} -gt 0 ]; then
    kill "${pids[view]}" 2>/dev/null || true # it would wait for a finish that is not coming
    finish view || true
elif [ "$headless" = 1 ]; then
    finish view || failures+=("the view did not see the channel finished with nothing lost (exit $?)")
    grep -q '"finished": true' "$out/figures.json" 2>/dev/null ||
        failures+=("the view's figures do not say finished")
fi

# --- the proof: the multiset of items consumed equals the set produced
# A process that failed before it wrote its record counts as having put or taken nothing.
for ((k = 1; k <= producers; ++k)); do touch "$out/produced-$k.txt"; done
for ((k = 1; k <= consumers; ++k)); do touch "$out/consumed-$k.txt"; done
if [ -n "$plant" ]; then
    victim=$(ls -S "$out"/consumed-*.txt | head -n 1) # the consumer that took the most
    echo "demo-nats.sh: --plant $plant: tampering with $victim, the check below must fail"
    case "$plant" in
        loss | both) sed -i '1d' "$victim" ;;&
        duplicate | both) tail -n 1 "$victim" >>"$victim" ;;
    esac
fi
export LC_ALL=C
cat "$out"/produced-*.txt | sort >"$dir/produced.sorted"
cat "$out"/consumed-*.txt | sort >"$dir/consumed.sorted"
produced=$(wc -l <"$dir/produced.sorted")
consumed=$(wc -l <"$dir/consumed.sorted")
expected=$((producers * items))
produced_twice=$(uniq -d "$dir/produced.sorted" | wc -l)
lost=$(comm -23 "$dir/produced.sorted" "$dir/consumed.sorted" | wc -l)
extra=$(comm -13 "$dir/produced.sorted" "$dir/consumed.sorted" | wc -l)
taken_twice=$(uniq -d "$dir/consumed.sorted" | wc -l)
[ "$produced" = "$expected" ] || failures+=("$produced items produced, $expected expected")
[ "$produced_twice" = 0 ] || failures+=("$produced_twice items produced twice (producer ids must be unique)")
# (The examples' `head` may close the pipe early: not a failure of the script.)
[ "$lost" = 0 ] || failures+=("$lost lost (produced, never consumed), e.g. $(
    { comm -23 "$dir/produced.sorted" "$dir/consumed.sorted" || true; } | head -n 3 | tr '\n' ' ')")
[ "$taken_twice" = 0 ] || failures+=("$taken_twice taken twice, e.g. $(
    { uniq -d "$dir/consumed.sorted" || true; } | head -n 3 | tr '\n' ' ')")
[ "$extra" = "$taken_twice" ] || failures+=("$((extra - taken_twice)) consumed that nobody produced")

if [ ${#failures[@]} -gt 0 ]; then
    echo "demo-nats.sh: FAILED: $produced produced, $consumed consumed:" >&2
    printf '  - %s\n' "${failures[@]}" >&2
    echo "  (records in $out, logs in $logs)" >&2
    exit 1
fi
[ "$headless" = 1 ] && echo "demo-nats.sh: the view's screenshot: $out/screenshot.png, figures: $out/figures.json"
echo "demo-nats.sh: finished, nothing lost: $produced produced, $consumed consumed" \
    "($producers producer and $consumers consumer processes, each item taken once)"
if [ "$headless" = 0 ]; then
    echo "demo-nats.sh: the view stays open; close its window to stop the server"
    finish view || true
fi
exit 0
