#!/bin/sh
# Shared helpers for the real-service experiments. A script sources this file
# and gets: $SRC (source tree), $FL (faultline), $AGENT (faultline-agent),
# $SHIM (libfaultline-preload.so), a private temp dir $T, need_pkg (apt-get
# install when missing, else SKIPPED), free_port, wait_port, run_fl, jassert,
# and cleanup on exit of every process it started (listed in $PIDS, by PID)
# and of $T.
#
# Run one directly from the source tree after a build:
#   sh tests/integration/services/nginx.sh
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${FL_SOURCE_DIR:-$(cd "$HERE/../../.." && pwd)}
FL=${FL_BIN:-$SRC/build/controller/faultline}
AGENT=$(dirname "$FL")/../agent/faultline-agent
T=$(mktemp -d /tmp/fl-svc.XXXXXX)
chmod 755 "$T"
PIDS=""
export NO_COLOR=1

cleanup() {
	for p in $PIDS; do
		kill -CONT "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/out" ]; then
		echo "--- faultline output:" >&2
		cat "$T/out" >&2
	fi
	exit 1
}

skip() {
	echo "SKIPPED: $*"
	exit 77
}

[ -x "$FL" ] || skip "faultline is not built ($FL)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
# The agent and the shim are built with faultline (CTest passes that build): one
# missing is a broken build, which a SKIP would hide.
SHIM=$(dirname "$FL")/../preload/libfaultline-preload.so
[ -x "$AGENT" ] || fail "faultline-agent is not built next to faultline ($AGENT)"
[ -f "$SHIM" ] || fail "the preload shim is not built next to faultline ($SHIM)"

# need_pkg PACKAGE COMMAND: install the Debian package when COMMAND is missing.
need_pkg() {
	command -v "$2" >/dev/null 2>&1 && return 0
	[ -x /usr/sbin/$2 ] && return 0
	[ "$(id -u)" -eq 0 ] || skip "$2 is missing and installing $1 needs root"
	command -v apt-get >/dev/null 2>&1 || skip "$2 is missing and there is no apt-get"
	echo "installing $1 (apt-get)" >&2
	# A stale package list is the usual reason for a failure: update once, try again.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" \
		>"$T/apt.log" 2>&1 || {
		apt-get update -qq >>"$T/apt.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" \
			>>"$T/apt.log" 2>&1
	} || skip "apt-get install $1 failed: $(tail -1 "$T/apt.log")"
	command -v "$2" >/dev/null 2>&1 || [ -x /usr/sbin/$2 ] || skip "$1 has no $2"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT; 1 on timeout.
wait_port() {
	python3 - "$1" "${2:-15}" <<'PY'
import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# run_fl ARGS...: run faultline in $T, output in $T/out, exit status in $RC.
run_fl() {
	set +e
	(cd "$T" && "$FL" "$@") >"$T/out" 2>&1
	RC=$?
	set -e
}

expect_rc() {
	[ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC"
}

# jassert FILE EXPR...: each python expression over j (the parsed JSON) must
# hold; d(name) is the "during" record of that probe, its output's counts.
jassert() {
	f=$1
	shift
	python3 - "$f" "$@" <<'PY' || fail "journal assertion failed"
import json, sys
j = json.load(open(sys.argv[1]))
def d(name):
    for r in j["steady_states"]["during"]:
        if r["name"] == name:
            return r
    raise KeyError(name)
bad = 0
for e in sys.argv[2:]:
    try:
        ok = eval(e, {"j": j, "d": d})
    except Exception as x:
        ok = False
        print("error in %r: %r" % (e, x), file=sys.stderr)
    if not ok:
        print("not true: %s" % e, file=sys.stderr)
        bad = 1
if bad:
    print(json.dumps({k: j.get(k) for k in ("status", "deviated", "reason")}), file=sys.stderr)
    print(json.dumps(j["steady_states"]["during"], indent=1)[:3000], file=sys.stderr)
sys.exit(bad)
PY
}

# summary FILE: one line per during/abort probe, for the test's log.
summary() {
	python3 - "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("verdict: status=%s deviated=%s reason=%s" % (j["status"], j["deviated"], j.get("reason")))
for r in j["steady_states"]["during"]:
    o = r["output"]
    print("  %s %s: %d samples, %d failed, p95 %s ms, max %s ms, met=%s%s" % (r["mode"], r["name"],
          o["samples"], o["failed"], o.get("latency_ms", {}).get("p95"),
          o.get("latency_ms", {}).get("max"), r["tolerance_met"],
          "; last failure: " + o["last_failure"] if o.get("last_failure") else ""))
PY
}
