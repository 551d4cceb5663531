#!/bin/sh
# Check (default) or apply (--fix) clang-format on every tracked C file.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
files=$(git ls-files '*.c' '*.h')
[ -n "$files" ] || exit 0
if [ "${1:-}" = "--fix" ]; then
	echo "$files" | xargs clang-format -i
else
	echo "$files" | xargs clang-format --dry-run -Werror
fi
