#!/bin/sh
# Background activities run concurrently and are waited for before the
# "after" hypothesis. An interrupt stops every
# background activity's process group at once.
. "$(dirname "$0")/lib.sh"

cat >"$T/exp.json" <<JSON
{
  "title": "background",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "both background actions finished", "tolerance": 0,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "[ ! -e $T/go ] || { [ -e $T/bg1 ] && [ -e $T/bg2 ]; }"]}}
  ]},
  "method": [
    {"type": "action", "name": "bg1", "background": true,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "touch $T/go; sleep 1; touch $T/bg1"]}},
    {"type": "action", "name": "bg2", "background": true,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "sleep 1; touch $T/bg2"]}},
    {"type": "action", "name": "fg", "provider": {"type": "process", "path": "true"}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rb1", "provider": {"type": "process", "path": "touch", "arguments": ["$T/rb1"]}}
  ]
}
JSON
run_fl run exp.json
expect_rc 0
for f in bg1 bg2 rb1; do
	[ -e "$T/$f" ] || fail "$f did not finish"
done
# Two 1 s activities in parallel: well under the 2 s they take in a row.
jassert "$T/journal.json" \
	'j["duration"] < 1.95' \
	'[r["activity"]["name"] for r in j["run"]] == ["bg1", "bg2", "fg"]' \
	'[r["activity"]["name"] for r in j["rollbacks"]] == ["rb1"]' \
	'j["steady_states"]["after"]["steady_state_met"] is True'

# Interrupt while two background activities run.
cat >"$T/int.json" <<JSON
{
  "title": "background interrupt",
  "method": [
    {"type": "action", "name": "bgA", "background": true,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "sleep 60 & echo \$! > $T/a.pid; wait"]}},
    {"type": "action", "name": "bgB", "background": true,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "sleep 60 & echo \$! > $T/b.pid; wait"]}},
    {"type": "action", "name": "fg", "provider": {"type": "process", "path": "sleep", "arguments": ["60"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rb", "provider": {"type": "process", "path": "touch", "arguments": ["$T/rb"]}}
  ]
}
JSON
(cd "$T" && exec "$FL" run int.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
i=0
while [ ! -s "$T/a.pid" ] || [ ! -s "$T/b.pid" ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || fail "background actions never started"
	sleep 0.01
done
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 3
[ -e "$T/rb" ] || fail "rollbacks did not run"
sleep 0.2
for f in a.pid b.pid; do
	c=$(cat "$T/$f")
	if kill -0 "$c" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$c/status" 2>/dev/null; then
		kill "$c"
		fail "a background activity's child ($c) survived the interrupt"
	fi
done
jassert "$T/journal.json" 'j["status"] == "interrupted"' \
	'[r["status"] for r in j["run"]] == ["failed", "failed", "failed"]' \
	'j["duration"] < 5'
echo "PASS"
