#!/bin/sh
# SIGINT and SIGTERM mid-run: the running activity's process group is
# stopped, rollbacks still run, the journal says "interrupted", exit 3.
. "$(dirname "$0")/lib.sh"

cat >"$T/exp.json" <<JSON
{
  "title": "interruptible",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "ok", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
  ]},
  "method": [
    {"type": "action", "name": "long action",
     "provider": {"type": "process", "path": "sh",
                  "arguments": ["-c", "sleep 60 & echo \$! > $T/child.pid; touch $T/started; wait"]}},
    {"type": "action", "name": "never", "provider": {"type": "process", "path": "touch", "arguments": ["$T/never"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rollback",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/rollback.marker"]}}
  ]
}
JSON

for sig in INT TERM; do
	rm -f "$T/started" "$T/rollback.marker" "$T/child.pid" "$T/journal.json"
	(cd "$T" && exec "$FL" run exp.json) >"$T/out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_file "$T/started" "the long action never started"
	t0=$(date +%s)
	kill -"$sig" "$pid"
	set +e
	wait "$pid"
	RC=$?
	set -e
	expect_rc 3
	[ $(($(date +%s) - t0)) -le 5 ] || fail "SIG$sig took too long to stop the run"
	[ -e "$T/rollback.marker" ] || fail "rollbacks did not run after SIG$sig"
	[ ! -e "$T/never" ] || fail "the method went on after SIG$sig"
	child=$(cat "$T/child.pid")
	sleep 0.2
	if kill -0 "$child" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$child/status" 2>/dev/null; then
		kill "$child"
		fail "the action's child $child survived SIG$sig"
	fi
	expect_out "INTERRUPTED"
	jassert "$T/journal.json" \
		'j["status"] == "interrupted"' \
		'j["run"][0]["status"] == "failed"' \
		'len(j["run"]) == 1' \
		'j["rollbacks"][0]["status"] == "succeeded"' \
		'"SIG'"$sig"'" in j["reason"]'
done
# A second signal stops the rollbacks too.
cat >"$T/two.json" <<JSON
{
  "title": "two signals",
  "method": [
    {"type": "action", "name": "long", "provider": {"type": "process", "path": "sh",
     "arguments": ["-c", "touch $T/m.started; exec sleep 60"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "slow rollback", "provider": {"type": "process", "path": "sh",
     "arguments": ["-c", "touch $T/r.started; exec sleep 60"]}},
    {"type": "action", "name": "not reached", "provider": {"type": "process", "path": "touch",
     "arguments": ["$T/r2"]}}
  ]
}
JSON
(cd "$T" && exec "$FL" run --journal two-journal.json two.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
for f in m.started r.started; do
	wait_file "$T/$f" "$f never appeared"
	kill -INT "$pid"
done
set +e
wait "$pid"
RC=$?
set -e
expect_rc 3
[ ! -e "$T/r2" ] || fail "rollbacks went on after the second signal"
jassert "$T/two-journal.json" 'j["status"] == "interrupted"' \
	'[r["status"] for r in j["rollbacks"]] == ["failed"]'
# One signal while the rollbacks run (the method is over and held): the
# rollbacks still finish, but the run was interrupted: exit 3, never 0.
cat >"$T/late.json" <<JSON
{
  "title": "signal during rollbacks",
  "steady-state-hypothesis": {"title": "ok", "probes": [
    {"type": "probe", "name": "true", "tolerance": 0,
     "provider": {"type": "process", "path": "true"}}]},
  "method": [
    {"type": "action", "name": "quick", "provider": {"type": "process", "path": "true"}}
  ],
  "rollbacks": [
    {"type": "action", "name": "slowish rollback", "provider": {"type": "process", "path": "sh",
     "arguments": ["-c", "touch $T/l.started; sleep 1; touch $T/l.done"]}}
  ]
}
JSON
(cd "$T" && exec "$FL" run --journal late-journal.json late.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_file "$T/l.started" "l.started never appeared"
kill -TERM "$pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 3
[ -e "$T/l.done" ] || fail "the rollback was stopped by the first signal"
jassert "$T/late-journal.json" 'j["status"] == "interrupted"' \
	'[r["status"] for r in j["rollbacks"]] == ["succeeded"]'
echo "PASS"
