#!/bin/sh
# faultline-agent under valgrind memcheck through its API tests: the agent
# integration tests (CTest agent.*) start the agent through a wrapper that
# execs valgrind, so every agent process of every test is checked (leaks at
# exit after SIGTERM, invalid reads/writes, uninitialised values, fd leaks not
# counted). Tests that SIGKILL the agent on purpose (crash_reconcile,
# reliability) are left out: a killed process reports no leaks, and 100 starts
# under valgrind would not fit the time bound.
#   tests/hardening/valgrind.sh [CTEST_REGEX]
# Uses build/ (the normal build). valgrind 3.19 (Debian 12) implements neither
# pidfd_open(2) nor seccomp(2): under it the agent reports kill/pause as not
# usable, so the tests that apply them fail for that reason alone; their
# results are shown, and the exit status is memcheck's verdict on every agent
# run (0 errors, 0 bytes definitely/indirectly lost) -- VG_STRICT=1 also
# requires the tests to pass. tests/hardening/agent_valgrind_api.sh covers the
# full API with the network kinds, which do run under valgrind.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${BUILD_DIR:-$top/build}
regex=${1:-'^agent\.(apply_revert|auth|lease|bad_input|policy_limits|tls|fanout\.)'}

if ! command -v valgrind >/dev/null; then
	echo "SKIPPED: valgrind not installed"
	exit 77
fi
[ -x "$dir/agent/faultline-agent" ] || BUILD_DIR="$dir" "$top/scripts/build.sh"
rep="$dir/valgrind-reports"
rm -rf "$rep"
mkdir -p "$rep"
wrap="$rep/faultline-agent"
cat >"$wrap" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \\
	--log-file=$rep/vg.%p $dir/agent/faultline-agent "\$@"
WRAP
chmod +x "$wrap"
# The tests take the agent binary as their last argument: point them at the wrapper.
status=0
(cd "$dir" && ctest -R "$regex" -N >/dev/null) || true
tests=$(cd "$dir" && ctest -R "$regex" --show-only=json-v1 |
	python3 -c 'import json,sys
for t in json.load(sys.stdin)["tests"]:
    print(t["name"], " ".join(t["command"]))')
echo "$tests" | while read -r name cmd; do
	# shellcheck disable=SC2086
	set -- $cmd
	last=""
	for a in "$@"; do last=$a; done
	case $last in */faultline-agent) ;; *) echo "skip $name (no agent argument)"; continue ;; esac
	n=$#
	args=""
	i=0
	for a in "$@"; do
		i=$((i + 1))
		[ $i -lt $n ] && args="$args $a"
	done
	printf '%-36s ' "$name"
	# shellcheck disable=SC2086
	if (cd "$dir" && timeout 300 $args "$wrap" >"$rep/$name.log" 2>&1); then
		echo ok
	else
		echo "FAILED (log: $rep/$name.log)"
		echo "$name" >>"$rep/failed"
	fi
done
[ -f "$rep/failed" ] && [ "${VG_STRICT:-0}" = 1 ] && status=1
runs=$(ls "$rep"/vg.* 2>/dev/null | wc -l)
bad=0
for f in "$rep"/vg.*; do
	[ -f "$f" ] || continue
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -1)
	def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tail -1 | tr -d ,)
	ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tail -1 | tr -d ,)
	if [ -z "$errs" ]; then
		continue # killed on purpose (SIGKILL): no summary
	fi
	if [ "$errs" != 0 ] || [ "${def:-0}" != 0 ] || [ "${ind:-0}" != 0 ]; then
		echo "valgrind: $f: $errs errors, ${def:-0} B definitely, ${ind:-0} B indirectly lost"
		bad=$((bad + 1))
	fi
done
echo "valgrind: $runs agent run(s), $bad with errors or leaks (reports: $rep)"
[ "$status" -eq 0 ] && [ "$bad" -eq 0 ]
