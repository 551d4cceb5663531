#!/bin/sh
# Every experiment of the Chaos Toolkit corpus (experiments/*.json, process and
# http providers only, each a real public experiment or modelled on one, and its
# YAML twin) runs unchanged with faultline, against real local processes and a real
# HTTP server (server.py), and ends with the journal "status" and "deviated"
# chaoslib gives, whether the steady state was met before the method, the same
# rollbacks and method runs, and faultline's exit code
# (EXPECTED; how each expectation was obtained is in its last column and in
# record-chaoslib.sh). Files without a "runtime" run with --rollback-strategy
# default, Chaos Toolkit's default (faultline's own is "always").
set -eu
FL=${FL_BIN:?FL_BIN must point at the faultline binary}
SRC=${FL_SOURCE_DIR:?FL_SOURCE_DIR must point at the source tree}
here="$SRC/tests/integration/ctk"
command -v python3 >/dev/null 2>&1 || {
	echo "SKIPPED: python3 is not installed"
	exit 77
}
command -v pkill >/dev/null 2>&1 || {
	echo "SKIPPED: pkill (procps) is not installed; quotes-process-kill runs it"
	exit 77
}
T=$(mktemp -d /tmp/fl-ctk-test.XXXXXX)
srv=""
cleanup() {
	[ -z "$srv" ] || kill "$srv" 2>/dev/null || true
	for p in "$T"/*/STORAGE.pid; do
		[ ! -f "$p" ] || pkill -F "$p" -x sleep 2>/dev/null || true
	done
	[ -z "$srv" ] || wait "$srv" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	[ ! -f "$T/out" ] || cat "$T/out" >&2
	exit 1
}
python3 "$here/server.py" --port-file "$T/port" &
srv=$!
i=0
while [ ! -s "$T/port" ]; do
	i=$((i + 1))
	[ $i -lt 500 ] || fail "server.py did not start"
	sleep 0.01
done
URL="http://127.0.0.1:$(cat "$T/port")"

n=0
tab=$(printf '\t')
while IFS="$tab" read -r name status deviated met chaos_rc rollbacks runs fl_rc how; do
	case "$name" in '#'* | '') continue ;; esac
	for fmt in json yaml; do
		f="$here/experiments/$name.$fmt"
		[ -f "$f" ] || fail "EXPECTED names $name, but $f is missing"
		d="$T/$name.$fmt"
		mkdir "$d"
		sh "$here/setup.sh" "$name" "$d"
		set -- --journal "$d/journal.json" --var "base_url=$URL" --var "prometheus_url=$URL"
		grep -q '"runtime"\|^runtime:' "$f" || set -- "$@" --rollback-strategy default
		if grep -q '"controls"\|^ *controls:' "$f"; then
			# faultline cannot run Python controls: refused with the reason, nothing run
			set +e
			(cd "$d" && PATH="$d/bin:$PATH" FRONT_URL="$URL" STORAGE_URL="$URL/exists?path=$d/STORAGE.up" \
				RETRIEVAL_URL="$URL/exists?path=$d/RETRIEVAL.up" "$FL" run "$@" "$f") >"$T/out" 2>&1
			rc=$?
			set -e
			[ $rc -eq 2 ] || fail "$name.$fmt: controls: exit $rc, want 2"
			grep -q -- "--ignore-controls" "$T/out" || fail "$name.$fmt: no hint"
			[ ! -e "$d/journal.json" ] || fail "$name.$fmt: refused, yet a journal"
			set -- "$@" --ignore-controls
		fi
		set +e
		(cd "$d" && PATH="$d/bin:$PATH" FRONT_URL="$URL" STORAGE_URL="$URL/exists?path=$d/STORAGE.up" \
				RETRIEVAL_URL="$URL/exists?path=$d/RETRIEVAL.up" "$FL" run "$@" "$f") >"$T/out" 2>&1
		rc=$?
		set -e
		[ "$rc" -eq "$fl_rc" ] || fail "$name.$fmt: faultline exit $rc, want $fl_rc"
		python3 - "$d/journal.json" "$status" "$deviated" "$met" "$rollbacks" "$runs" <<'PY' ||
import json, sys
path, status, deviated, met, rollbacks, runs = sys.argv[1:]
j = json.load(open(path))
before = (j.get("steady_states") or {}).get("before")
got = (j["status"], str(j["deviated"]).lower(),
       "-" if not before else str(before.get("steady_state_met")).lower(),
       str(len(j["rollbacks"])), str(len(j["run"])))
want = (status, deviated, met, rollbacks, runs)
if got != want:
    sys.exit("journal (status, deviated, met-before, rollbacks, runs) = %r, chaoslib gives %r"
             % (got, want))
if "chaoslib-version" not in j:
    sys.exit("no chaoslib-version in the journal")
PY
			fail "$name.$fmt ($how)"
		n=$((n + 1))
	done
done <"$here/EXPECTED"
[ $n -ge 44 ] || fail "only $n runs"

# What the runs did, beyond the verdict, as Chaos Toolkit would have done it:
# the string arguments went through the shell (pipe, redirect, $HOME) ...
grep -qx "HELLO $(echo "$HOME" | tr a-z A-Z)" "$T/http-service.json/shout.txt" ||
	fail "echo hello \$HOME | tr a-z A-Z > shout.txt did not run through the shell"
[ "$(cat "$T/http-service.yaml/traffic.log")" = "req 1
req 2
req 3" ] || fail "the background action's redirect"
# ... the rollbacks of a language switch put English back ...
grep -qx "welcome=hello" "$T/lang-file.json/default.locale.txt" || fail "lang-file rollback"
# ... the method of a run whose hypothesis failed before never ran ...
for x in not-met-before probe-failed-before string-tolerance bool-tolerance; do
	[ ! -e "$T/$x.json/method-ran" ] || fail "$x: the method ran"
done
# ... a probe tolerance ran its judge, with the value as its last arguments ...
[ -e "$T/probe-tolerance.json/judged" ] || fail "the tolerance probe did not run"
# ... the quote store's process got its SIGHUP, and pm2 was asked to stop
# and restart the services in the published order ...
for fmt in json yaml; do
	d="$T/quotes-process-kill.$fmt"
	! pgrep -F "$d/STORAGE.pid" -x sleep >/dev/null || fail "quotes-process-kill.$fmt: storage still runs"
	[ "$(cat "$d/pm2.log")" = "pm2 restart storage.js --name STORAGE
pm2 restart retrieval.js --name RETRIEVAL" ] || fail "quotes-process-kill.$fmt: pm2 calls"
	[ "$(cat "$T/quotes-unresponsive-storage.$fmt/pm2.log")" = "pm2 stop STORAGE
pm2 restart storage.js --name STORAGE
pm2 restart retrieval.js --name RETRIEVAL" ] || fail "quotes-unresponsive-storage.$fmt: pm2 calls"
done
# ... and continuously checked the hypothesis during the method too.
python3 - "$T/continuously.json/journal.json" <<'PY' || fail "continuously: no passes during the method"
import json, sys
j = json.load(open(sys.argv[1]))
during = [s for s in j["steady_states"]["during"] if "steady_state_met" in s]
assert len(during) >= 2 and all(s["steady_state_met"] for s in during), during
assert j["steady_states"]["after"]["steady_state_met"] is True
PY
echo "PASS: $n runs (JSON and YAML) with chaoslib's verdicts"
