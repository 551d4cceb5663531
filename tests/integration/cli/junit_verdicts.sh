#!/bin/sh
# The JUnit report carries the run's verdict, whatever ended the run: for
# each outcome (held, deviated, a failed method action, the experiment's
# timeout, an abort condition, SIGINT) the real binary runs a real
# experiment, and a real XML parser checks the failure/error counts, the
# "experiment run" case and its message, the method and rollback cases; and
# the JUnit verdict, the journal's verdict fields and the exit code agree.
. "$(dirname "$0")/lib.sh"
start_httpd

# verdict RUNCASE TYPE MSG FAILURES ERRORS: check $T/junit.xml against
# $T/journal.json and $RC. RUNCASE is "pass", "failure" or "error"; MSG a
# substring of the run case's message; FAILURES/ERRORS the suite's counts.
verdict() {
	junit_valid "$T/junit.xml"
	python3 - "$T/junit.xml" "$T/journal.json" "$RC" "$@" <<'PY' || fail "verdict check failed ($1 $2)"
import json, sys, xml.etree.ElementTree as E
xf, jf, rc, kind, typ, msg, nf, ne = sys.argv[1:9]
r = E.parse(xf).getroot()
j = json.load(open(jf))
s = r.find("testsuite")
cases = s.findall("testcase")
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
# Counts are what the cases say, on both levels.
for e in (r, s):
    check(e.get("tests") == str(len(cases)), "tests count %s" % e.get("tests"))
    check(e.get("failures") == nf, "failures %s, expected %s" % (e.get("failures"), nf))
    check(e.get("errors") == ne, "errors %s, expected %s" % (e.get("errors"), ne))
    check(e.get("failures") == str(sum(c.find("failure") is not None for c in cases)), "failures vs cases")
    check(e.get("errors") == str(sum(c.find("error") is not None for c in cases)), "errors vs cases")
check(s.get("skipped") == str(sum(c.find("skipped") is not None for c in cases)), "skipped vs cases")
check(r.get("skipped") is None, "skipped on <testsuites> (junit-10.xsd has none there)")
run = [c for c in cases if c.get("classname") == "experiment" and c.get("name") == "experiment run"]
check(len(run) == 1 and cases[-1] is run[0], "one experiment run case, last")
run = run[0]
got = [x.tag for x in run]
check(got == ([] if kind == "pass" else [kind]), "run case is %s, expected %s" % (got, kind))
if kind != "pass":
    el = run.find(kind)
    check(el.get("type") == typ, "run case type %s, expected %s" % (el.get("type"), typ))
    check(msg in el.get("message"), "run case message %r lacks %r" % (el.get("message"), msg))
    # The run case says what the journal says.
    check(el.get("message") == j["reason"], "message %r != journal reason %r" % (el.get("message"), j.get("reason")))
    check("status: %s\n" % j["status"] in el.text and "exit code: %s\n" % rc in el.text, "run case text: %r" % el.text)
# The verdict fields: JUnit properties == journal == exit code.
props = {p.get("name"): p.get("value") for p in s.find("properties")}
check(props["status"] == j["status"], "status %s vs %s" % (props["status"], j["status"]))
check(props["deviated"] == ("true" if j["deviated"] else "false"), "deviated")
check(props["exit_code"] == rc == str(j["exit_code"]), "exit code: junit %s, process %s, journal %s" % (props["exit_code"], rc, j["exit_code"]))
check(props.get("reason") == j.get("reason"), "reason %r vs %r" % (props.get("reason"), j.get("reason")))
# "completed" is chaoslib's status of a run that went to its end: a failed
# activity or a steady state not met before the method leave it so, and exit 1
check((kind == "pass") == (rc == "0"), "pass <=> exit 0")
check(rc != "0" or (j["status"] == "completed" and not j["deviated"]), "exit 0 => completed, not deviated")
check((kind == "error") == (rc in ("2", "3")), "error <=> exit 2/3")
# Every method record and rollback record has its case, failed ones fail.
for cls, recs, el in (("method", j["run"], "failure"), ("rollbacks", j["rollbacks"], "error")):
    cs = [c for c in cases if c.get("classname") == cls]
    ran = [c for c in cs if c.find("skipped") is None]
    check(len(ran) == len(recs), "%s: %d cases ran, %d records" % (cls, len(ran), len(recs)))
    for c, rec in zip(ran, recs):
        check(c.get("name") == rec["activity"]["name"], "%s case %s" % (cls, c.get("name")))
        check((c.find(el) is not None) == (rec["status"] == "failed"), "%s case %s outcome" % (cls, c.get("name")))
    check(len(cs) == len(j["experiment"].get(cls if cls == "method" else "rollbacks", [])), "%s: one case per declared activity" % cls)
for b in bad:
    print("not true: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# jcase CLASS NAME: the child element of that case ("failure", "error", "skipped" or "pass").
jcase() {
	python3 - "$T/junit.xml" "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as E
for c in E.parse(sys.argv[1]).getroot().iter("testcase"):
    if c.get("classname") == sys.argv[2] and c.get("name") == sys.argv[3]:
        k = list(c)
        print(k[0].tag + ":" + (k[0].get("message") or "") if k else "pass")
        break
else:
    print("absent")
PY
}

expect_case() {
	got=$(jcase "$1" "$2")
	case "$got" in
	$3) ;;
	*) fail "case $1/$2 is '$got', expected '$3'" ;;
	esac
}

# 1. Held: everything passes, the run case too.
cat >"$T/held.json" <<JSON
{"title": "held",
 "steady-state-hypothesis": {"title": "up", "probes": [
   {"type": "probe", "name": "answers", "tolerance": 200, "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "method": [{"type": "action", "name": "act", "provider": {"type": "process", "path": "true"}}],
 "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "true"}}]}
JSON
run_fl run --junit junit.xml held.json
expect_rc 0
verdict pass "" "" 0 0
expect_case method act pass
expect_case rollbacks undo pass

# 2. Deviated: the method breaks the service, the "after" probe fails.
cat >"$T/dev.json" <<JSON
{"title": "deviates",
 "steady-state-hypothesis": {"title": "flag off", "probes": [
   {"type": "probe", "name": "flag off", "tolerance": 503, "provider": {"type": "http", "url": "$URL/flag/dv"}}]},
 "method": [{"type": "action", "name": "break it", "provider": {"type": "http", "method": "POST", "url": "$URL/flag/dv"}}],
 "rollbacks": [{"type": "action", "name": "repair", "provider": {"type": "http", "method": "DELETE", "url": "$URL/flag/dv"}}]}
JSON
run_fl run --junit junit.xml dev.json
expect_rc 1
verdict failure Deviated "steady state after the method not met" 2 0
expect_case steady-state-after "flag off" "failure:*"
expect_case method "break it" pass

# 3. A method action fails (the hypothesis holds): the action's case and the run fail;
#    a failed rollback is an <error> (a teardown that failed, as pytest reports it).
cat >"$T/act.json" <<JSON
{"title": "action fails",
 "steady-state-hypothesis": {"title": "up", "probes": [
   {"type": "probe", "name": "answers", "tolerance": 200, "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "method": [
   {"type": "action", "name": "wrong status", "provider": {"type": "http", "url": "$URL/status/500", "expected_status": 200}},
   {"type": "action", "name": "still runs", "provider": {"type": "process", "path": "true"}}],
 "rollbacks": [
   {"type": "action", "name": "cannot start", "provider": {"type": "process", "path": "/nonexistent/faultline-rb"}}]}
JSON
run_fl run --junit junit.xml act.json
expect_rc 1
verdict failure Failed 'method activity "wrong status" failed' 2 1
expect_case method "wrong status" "failure:*expected 200*"
expect_case method "still runs" pass
expect_case rollbacks "cannot start" "error:*faultline-rb*"

# 4. The experiment's timeout: aborted; the activity cut off fails, the next is skipped.
cat >"$T/to.json" <<JSON
{"title": "timeout", "timeout": 1,
 "steady-state-hypothesis": {"title": "up", "probes": [
   {"type": "probe", "name": "answers", "tolerance": 200, "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "method": [
   {"type": "action", "name": "forever", "provider": {"type": "process", "path": "sleep", "arguments": ["30"]}},
   {"type": "action", "name": "never", "provider": {"type": "process", "path": "true"}}],
 "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "true"}}]}
JSON
run_fl run --junit junit.xml to.json
expect_rc 1
verdict failure Aborted "timeout of 1s passed" 2 0
expect_case method never "skipped:not run: the experiment's timeout of 1s passed"
expect_case steady-state-after answers "skipped:*"
expect_case rollbacks undo pass

# 5. An abort condition is met: aborted, the abort window fails, the rollbacks run.
cat >"$T/ab.json" <<JSON
{"title": "abort",
 "steady-state-hypothesis": {"title": "up", "probes": [
   {"type": "probe", "name": "answers", "tolerance": 200, "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "abort": [{"type": "probe", "name": "no marker", "interval": "50ms", "tolerance": 0,
   "provider": {"type": "process", "path": "sh", "arguments": ["-c", "test ! -e $T/marker"]}}],
 "method": [
   {"type": "action", "name": "set marker", "provider": {"type": "process", "path": "sh",
    "arguments": ["-c", "(sleep 0.3; touch $T/marker) >/dev/null 2>&1 &"]}, "pauses": {"after": 20}},
   {"type": "action", "name": "never", "provider": {"type": "process", "path": "true"}}],
 "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "rm", "arguments": ["-f", "$T/marker"]}}]}
JSON
t0=$(date +%s)
run_fl run --junit junit.xml ab.json
expect_rc 1
[ $(($(date +%s) - t0)) -lt 10 ] || fail "the abort condition did not stop the run"
verdict failure Aborted 'abort condition "no marker" met' 2 0
expect_case steady-state-during "no marker" "failure:*"
expect_case method "set marker" pass
expect_case method never "skipped:not run: abort condition*"
expect_case rollbacks undo pass

# 6. SIGINT: interrupted, exit 3, the run case is an <error> (no verdict).
cat >"$T/int.json" <<JSON
{"title": "interrupted",
 "steady-state-hypothesis": {"title": "up", "probes": [
   {"type": "probe", "name": "answers", "tolerance": 200, "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "method": [
   {"type": "action", "name": "long", "provider": {"type": "process", "path": "sh",
    "arguments": ["-c", "touch $T/started; exec sleep 60"]}},
   {"type": "action", "name": "never", "provider": {"type": "process", "path": "true"}}],
 "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "process", "path": "true"}}]}
JSON
rm -f "$T/started"
(cd "$T" && exec "$FL" run --junit junit.xml int.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_file "$T/started" "the long action never started"
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 3
verdict error Interrupted "interrupted by SIGINT" 1 1
expect_case method long "failure:*"
expect_case method never "skipped:not run: interrupted by*"
expect_case rollbacks undo pass
expect_out "INTERRUPTED"

# 7. Deviated, then SIGTERM while the rollbacks run: the run stands for exit 3
#    (interrupted), and every report says so; the deviation stays recorded.
cat >"$T/devint.json" <<JSON
{"title": "deviated then interrupted",
 "steady-state-hypothesis": {"title": "flag off", "probes": [
   {"type": "probe", "name": "flag off", "tolerance": 503, "provider": {"type": "http", "url": "$URL/flag/di"}}]},
 "method": [{"type": "action", "name": "break it", "provider": {"type": "http", "method": "POST", "url": "$URL/flag/di"}}],
 "rollbacks": [{"type": "action", "name": "slow repair", "provider": {"type": "process", "path": "sh",
    "arguments": ["-c", "touch $T/rb.started; sleep 1; curl -fsS -X DELETE $URL/flag/di >/dev/null 2>&1 || true"]}}]}
JSON
rm -f "$T/rb.started"
(cd "$T" && exec "$FL" run --junit junit.xml devint.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_file "$T/rb.started" "the rollback never started"
kill -TERM "$pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 3
verdict error Interrupted "interrupted by SIGTERM" 1 1
expect_case steady-state-after "flag off" "failure:*"
expect_case rollbacks "slow repair" pass
expect_out "INTERRUPTED (the steady state had DEVIATED)"
jassert "$T/journal.json" 'j["deviated"] is True' 'j["status"] == "interrupted"' 'j["exit_code"] == 3'
echo "PASS"
