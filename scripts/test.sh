#!/bin/sh
# Install what is missing, build, and run the whole test suite with CTest.
# SANITIZE=1 builds with ASan+UBSan into build-asan/ instead. Arguments go to
# ctest as given (./scripts/test.sh -R 'unit\.' --schedule-random); CTEST_ARGS
# too, split at blanks (no quoting: a pattern with a space needs an argument).
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
# The tests' python3 is the one deps.sh installs (Debian's /usr/bin/python3,
# with python3-yaml), not the first python3 in PATH (pyenv, a virtualenv,
# conda): that one may lack a module the tests import, and pyenv's shim costs
# about 0.3 s of CPU per call, minutes on a loaded machine (cli.junit_verdicts
# took 83 s instead of 16 s here, past its timeout beside another test).
mkdir -p "$BUILD_DIR/test-bin"
ln -sf /usr/bin/python3 "$BUILD_DIR/test-bin/python3"
PATH="$BUILD_DIR/test-bin:$PATH"
export PATH
cd "$BUILD_DIR"
ctest --output-on-failure -j2 ${CTEST_ARGS:-} "$@"
