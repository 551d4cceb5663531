#!/bin/sh
# The agent's threads under ThreadSanitizer. Builds build-tsan/ with clang-14
# and -fsanitize=thread (every library, the agent and the test programs), runs
# the tests that run the agent (CTest agent.*, kube.pods, preload.agent) against it,
# (the hardening cases too: reverts on worker threads, a thread per connection)
# and collects every report (TSAN_OPTIONS log_path) from the agent processes
# and the tests. Exit 0 only when the tests pass and there is no report.
#   tests/hardening/tsan.sh [CTEST_REGEX]
# The default leaves out agent.reliability: it must reach 100 kill/restart
# cycles in 90 s, which a TSan build (5-15x slower) does alone (34 s here) but
# not on a loaded machine; run it with tests/hardening/tsan.sh '^agent\.'.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${TSAN_BUILD_DIR:-$top/build-tsan}
regex=${1:-'^(agent\.(apply_revert|auth|lease|crash_reconcile|bad_input|policy_limits|tls|lost_answer|kill_cgroup|fanout\.|hardening\.(state_dir|journal|hygiene|contract|locking))|kube\.pods|preload\.agent)'}
cc=${TSAN_CC:-clang-14}

if ! command -v "$cc" >/dev/null; then
	echo "SKIPPED: $cc not installed (scripts/deps.sh installs it)"
	exit 77
fi
cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DFL_WERROR=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
	-DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null

rep="$dir/tsan-reports"
rm -rf "$rep"
mkdir -p "$rep"
# Newer kernels randomise mmap beyond what clang-14's TSan maps: run without ASLR.
norand=""
if command -v setarch >/dev/null && setarch "$(uname -m)" -R true 2>/dev/null; then
	norand="setarch $(uname -m) -R"
fi
status=0
(cd "$dir" && TSAN_OPTIONS="log_path=$rep/tsan:halt_on_error=0:second_deadlock_stack=1" \
	$norand ctest -R "$regex" --output-on-failure) || status=$?
n=$(find "$rep" -type f | wc -l)
echo "tsan: $n report file(s) in $rep"
for f in $(find "$rep" -type f); do
	grep -E "^(WARNING|SUMMARY): ThreadSanitizer" "$f" | sort | uniq -c
done
[ "$status" -eq 0 ] && [ "$n" -eq 0 ]
