#!/bin/sh
# Shared helpers for the report tests. A script sources this file and gets:
# $SRC, $FL, a private temp dir $T, $HERE (this folder), fail/skip, free_port,
# wait_port, start_httpd (-> $URL, $HTTPD_PID), need_pkg, chromium_check, and
# cleanup on exit of every process listed in $PIDS (by PID) and of $T.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${FL_SOURCE_DIR:-$(cd "$HERE/../../.." && pwd)}
FL=${FL_BIN:-$SRC/build/controller/faultline}
T=$(mktemp -d /tmp/fl-report.XXXXXX)
chmod 755 "$T"
PIDS=""
export NO_COLOR=1

cleanup() {
	for p in $PIDS; do
		kill -CONT "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
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
		tail -40 "$T/out" >&2
	fi
	exit 1
}

skip() {
	echo "SKIPPED: $*"
	exit 77
}

[ -x "$FL" ] || skip "faultline is not built ($FL)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# need_pkg PACKAGE COMMAND: install the Debian package when COMMAND is missing.
need_pkg() {
	command -v "$2" >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || skip "$2 is missing and installing $1 needs root"
	command -v apt-get >/dev/null 2>&1 || skip "$2 is missing and there is no apt-get"
	echo "installing $1 (apt-get)" >&2
	"$SRC/scripts/apt-install.sh" "$1" >"$T/apt.log" 2>&1 ||
		"$SRC/scripts/apt-install.sh" --update "$1" >>"$T/apt.log" 2>&1 ||
		skip "apt-get install $1 failed: $(tail -1 "$T/apt.log")"
	command -v "$2" >/dev/null 2>&1 || skip "$1 has no $2"
}

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

# start_httpd: tests/integration/cli/httpd.py on a free loopback port -> $URL, $HTTPD_PID.
start_httpd() {
	python3 "$SRC/tests/integration/cli/httpd.py" --port-file "$T/port" &
	HTTPD_PID=$!
	PIDS="$PIDS $HTTPD_PID"
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1))
		[ $i -lt 500 ] || fail "the test HTTP server did not start"
		sleep 0.01
	done
	URL="http://127.0.0.1:$(cat "$T/port")"
}

# The DOM facts the report tests check, as JSON (evaluated in the loaded page).
DOM_FACTS='JSON.stringify({
  title: document.title,
  verdict: (document.querySelector(".verdict") || {}).textContent,
  verdictClass: (document.querySelector(".verdict") || {className: ""}).className,
  scripts: document.querySelectorAll("script").length,
  timeline: document.querySelectorAll("svg.timeline").length,
  activities: document.querySelectorAll("svg.timeline rect.activity").length,
  faultWindows: [...document.querySelectorAll("rect.fault-window")].map(e => [+e.dataset.start, +e.dataset.end]),
  failingWindows: [...document.querySelectorAll(".probe-chart rect.failing-window")].map(e => [+e.dataset.start, +e.dataset.end]),
  sloLines: [...document.querySelectorAll("line.slo-line")].map(e => +e.dataset.value),
  windows: [...document.querySelectorAll("svg.timeline rect.window")].map(e => e.getAttribute("class")),
  probeCharts: document.querySelectorAll("svg.probe-chart").length,
  h1: (document.querySelector("h1") || {}).textContent,
  text: document.body.innerText.slice(0, 200000)
})'

# chromium_check PAGE OUT.json [ARGS...]: open PAGE in headless Chromium, DOM facts in OUT.json.
chromium_check() {
	page=$1
	out=$2
	shift 2
	chromium_pages "$out" "$page" "$@"
}

# chromium_pages OUT PAGE... [ARGS]: several pages in one browser; "{}" in OUT is each
# page's name without .html.
chromium_pages() {
	out=$1
	shift
	set +e
	python3 "$HERE/chromium.py" "$@" --eval "$DOM_FACTS" --out "$out" >"$T/chromium.log" 2>&1
	rc=$?
	set -e
	[ $rc -eq 77 ] && skip "$(cat "$T/chromium.log")"
	[ $rc -eq 0 ] || fail "chromium could not open $page: $(tail -5 "$T/chromium.log")"
}

# facts FILE EXPR...: each python expression over f (the DOM facts) and e (the errors) holds.
facts() {
	file=$1
	shift
	python3 - "$file" "$@" <<'PY' || fail "DOM check failed"
import json, sys
r = json.load(open(sys.argv[1]))
e = r["errors"]
f = json.loads(r["value"])
bad = 0
for x in sys.argv[2:]:
    try:
        ok = eval(x, {"f": f, "e": e, "r": r, "sys": sys})
    except Exception as ex:
        ok = False
        print("error in %r: %r" % (x, ex), file=sys.stderr)
    if not ok:
        print("not true: %s" % x, file=sys.stderr)
        bad = 1
if bad:
    g = dict(f)
    g.pop("text", None)
    print(json.dumps({"facts": g, "errors": e, "screenshot": r.get("screenshot")}, indent=1)[:4000], file=sys.stderr)
sys.exit(bad)
PY
}

# run_fl, expect_rc, jassert, junit_valid (shared with cli/lib.sh and services/lib.sh).
. "$SRC/tests/integration/common.sh"
