#!/usr/bin/env bash
# Installs the Debian 12 packages a QtChannel task needs, when any of them is missing.
#   scripts/deps.sh core|qml|coro|nats|bench|bench-nats|fuzz|docs|format|memcheck ...
# Runs apt-get as root (directly, or through sudo for other users). Does nothing, and needs
# no network, when everything is installed already.
set -euo pipefail

declare -A groups=(
    [core]="g++ make cmake ninja-build git ca-certificates qt6-base-dev qt6-base-private-dev"
    [qml]="qt6-declarative-dev qt6-declarative-dev-tools libqt6quicktest6 qml6-module-qtqml
           qml6-module-qtqml-models qml6-module-qtqml-workerscript qml6-module-qtquick
           qml6-module-qtquick-window qml6-module-qtquick-templates qml6-module-qtquick-controls
           qml6-module-qtquick-layouts qml6-module-qttest qml6-module-qtquick-shapes
           fonts-dejavu-core"
    [coro]="qcoro-qt6-dev"
    [nats]="libnats-dev nats-server openssl iproute2 iptables"
    [bench-nats]="libnats-dev nats-server redis-server libhiredis-dev"
    [bench]="libbenchmark-dev libboost1.81-dev libconcurrentqueue-dev golang-go gnuplot-nox"
    [fuzz]="clang-14 libclang-rt-14-dev"
    [docs]="doxygen"
    [format]="clang-format-14"
    [memcheck]="valgrind python3"
)

wanted=()
for group in "$@"; do
    [[ -v groups[$group] ]] || { echo "deps.sh: unknown group '$group'" >&2; exit 2; }
    read -r -a list <<<"$(echo ${groups[$group]})"
    wanted+=("${list[@]}")
done

missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: run as root, or install sudo" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
