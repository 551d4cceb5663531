#!/bin/sh
# Install what is missing, build, and run the whole test suite with CTest.
# SANITIZE=1 builds with ASan+UBSan into build-asan/ instead.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
if [ "${SANITIZE:-0}" = 1 ]; then
	export BUILD_DIR="$top/build-asan" BUILD_TYPE=Debug
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
	"$top/scripts/build.sh" -DFL_SANITIZE=ON
else
	export BUILD_DIR="$top/build"
	"$top/scripts/build.sh"
fi
cd "$BUILD_DIR"
ctest --output-on-failure -j2 ${CTEST_ARGS:-}
