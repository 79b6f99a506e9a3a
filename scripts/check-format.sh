#!/usr/bin/env bash
# Checks that every C++ file under version control is formatted as .clang-format says
# (clang-format 14). With --fix, formats them instead.
#
#   scripts/check-format.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh format
mapfile -t files < <(git ls-files '*.h' '*.cpp' 'src/QtChannel/Channel' 'qml/QtChannel/QmlChannel')
if [ "${1:-}" = "--fix" ]; then
    clang-format-14 -i "${files[@]}"
    exit 0
fi
if ! clang-format-14 --dry-run --Werror "${files[@]}"; then
    echo "check-format.sh: the files above are not formatted; run scripts/check-format.sh --fix" >&2
    exit 1
fi
echo "check-format.sh: ${#files[@]} files formatted"
