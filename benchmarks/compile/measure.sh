#!/usr/bin/env bash
# Compile cost of the header-only layer: wall time and peak RSS of `g++ -O2 -c` on a file that
# includes <QtChannel/Channel> and uses every member on Channel<int> and Channel<QString>,
# best of N (default 3). before.cpp uses what every core has (common.h), after.cpp the whole
# current API.
#
#   benchmarks/compile/measure.sh SOURCE_DIR BUILD_DIR FILE.cpp [N]
#
# SOURCE_DIR is a checkout (its src/ has the headers), BUILD_DIR a configured build of it (for
# the generated export header). Prints "wall_s cpu_s peak_rss_mib" of the best run by CPU time
# (user + system: on a loaded machine the wall time mostly measures the other processes).
set -euo pipefail
src="$1"
build="$2"
file="$3"
n="${4:-3}"
here="$(cd "$(dirname "$0")" && pwd)"
export_dir="$(dirname "$(find "$build" -name qtchannel_export.h -print -quit)")"
export_dir="$(dirname "$export_dir")" # .../include/QtChannel -> .../include
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
best=""
for _ in $(seq "$n"); do
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" g++ -std=c++20 -O2 -fPIC -c \
        -I"$src/src" -I"$export_dir" -I"$here" \
        -isystem /usr/include/x86_64-linux-gnu/qt6 -isystem /usr/include/x86_64-linux-gnu/qt6/QtCore \
        "$here/$file" -o "$out/tu.o"
    read -r wall user sys kb <"$out/time"
    cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
    line="$wall $cpu $(awk -v kb="$kb" 'BEGIN { printf "%.0f", kb / 1024 }')"
    if [ -z "$best" ] || awk -v a="$cpu" -v b="$(echo "$best" | cut -d' ' -f2)" 'BEGIN { exit !(a < b) }'; then
        best="$line"
    fi
done
echo "$best"
