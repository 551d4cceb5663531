#!/bin/sh
# Shared helpers for the CLI integration tests. Each test sources this file:
# it gets a private temp dir ($T), the binary ($FL), a local HTTP server on a
# free loopback port (start_httpd -> $URL) and cleanup of everything it
# started, by PID, on exit.
set -eu

FL=${FL_BIN:?FL_BIN must point at the faultline binary}
SRC=${FL_SOURCE_DIR:?FL_SOURCE_DIR must point at the source tree}
T=$(mktemp -d /tmp/fl-cli-test.XXXXXX)
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

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

command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# start_httpd: run tests/integration/cli/httpd.py on 127.0.0.1:<free port>, set $URL.
start_httpd() {
	python3 "$SRC/tests/integration/cli/httpd.py" --port-file "$T/port" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1))
		[ $i -lt 500 ] || fail "the test HTTP server did not start"
		sleep 0.01
	done
	URL="http://127.0.0.1:$(cat "$T/port")"
}

# wait_file FILE WHAT [SECONDS]: wait until FILE exists, polling every 10 ms;
# after SECONDS (default 10) fail with WHAT.
wait_file() {
	wf_max=$((${3:-10} * 100))
	wf_i=0
	while [ ! -e "$1" ]; do
		wf_i=$((wf_i + 1))
		[ $wf_i -lt $wf_max ] || fail "$2"
		sleep 0.01
	done
}

# run_fl ARGS...: run faultline, output in $T/out, exit status in $RC.
run_fl() {
	set +e
	(cd "$T" && "$FL" "$@") >"$T/out" 2>&1
	RC=$?
	set -e
}

expect_rc() {
	[ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC"
}

expect_out() {
	grep -q -- "$1" "$T/out" || fail "output lacks '$1'"
}

# jassert FILE EXPR...: each python expression over j (the parsed JSON) must hold.
jassert() {
	f=$1
	shift
	python3 - "$f" "$@" <<'PY' || fail "journal assertion failed"
import json, sys
j = json.load(open(sys.argv[1]))
bad = 0
for e in sys.argv[2:]:
    try:
        ok = eval(e, {"j": j})
    except Exception as x:
        ok = False
        print("error in %r: %s" % (e, x), file=sys.stderr)
    if not ok:
        print("not true: %s" % e, file=sys.stderr)
        bad = 1
sys.exit(bad)
PY
}

# junit_valid FILE: FILE is valid against the JUnit schema CI systems read
# (junit.xsd here: Jenkins' junit-10.xsd format), checked by xmllint.
junit_valid() {
	command -v xmllint >/dev/null 2>&1 || skip "xmllint is not installed (libxml2-utils)"
	xmllint --noout --schema "$SRC/tests/integration/cli/junit.xsd" "$1" >"$T/xmllint.out" 2>&1 || {
		cat "$T/xmllint.out" >&2
		fail "$1 is not valid against tests/integration/cli/junit.xsd"
	}
	rm -f "$T/xmllint.out"
}

# junit_check FILE EXPR...: validate against the schema, parse with a real XML
# parser, then check expressions over r (the root element) and cases (list of
# testcase elements).
junit_check() {
	f=$1
	shift
	junit_valid "$f"
	python3 - "$f" "$@" <<'PY' || fail "JUnit assertion failed"
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "testsuites", r.tag
for s in [r] + r.findall("testsuite"):
    for a in ("tests", "failures", "errors", "time") + (("skipped",) if s.tag == "testsuite" else ()):
        assert a in s.attrib, "%s lacks %s" % (s.tag, a)
cases = r.findall("testsuite/testcase")
for c in cases:
    assert "name" in c.attrib and "classname" in c.attrib and "time" in c.attrib
bad = 0
for e in sys.argv[2:]:
    if not eval(e, {"r": r, "cases": cases}):
        print("not true: %s" % e, file=sys.stderr)
        bad = 1
sys.exit(bad)
PY
}
