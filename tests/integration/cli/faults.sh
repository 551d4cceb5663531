#!/bin/sh
# The runner's side of fault activities, end to end through the embedded
# local agent: a `pause` fault stops a real process for the method; the
# steady state after the method sees it (deviated); the runner reverts every
# fault right after that check and before the rollbacks (the rollback sees
# the process running again), long before the fault's own 60 s duration.
. "$(dirname "$0")/lib.sh"

agent="$(dirname "$FL")/../agent/faultline-agent"
# Built with faultline (CTest passes that build): missing, the build is broken.
[ -x "$agent" ] || fail "faultline-agent is not built next to faultline ($agent)"

sleep 120 &
victim=$!
PIDS="$PIDS $victim"

cat >"$T/exp.json" <<JSON
{
  "title": "pause a process",
  "steady-state-hypothesis": {"title": "the victim runs", "probes": [
    {"type": "probe", "name": "victim not stopped", "tolerance": 0,
     "provider": {"type": "process", "path": "sh",
                  "arguments": ["-c", "! grep -q '^State:[[:space:]]*T' /proc/$victim/status"]}}
  ]},
  "method": [
    {"type": "action", "name": "pause the victim",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim},
                  "params": {"method": "signal"}, "duration": "60s"}}
  ],
  "rollbacks": [
    {"type": "action", "name": "record the victim's state",
     "provider": {"type": "process", "path": "sh",
                  "arguments": ["-c", "grep '^State:' /proc/$victim/status > $T/state-in-rollback"]}}
  ]
}
JSON
run_fl run exp.json
expect_rc 1
expect_out "DEVIATED"
jassert "$T/journal.json" \
	'j["deviated"] is True' \
	'j["run"][0]["status"] == "succeeded"' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is False' \
	'j["duration"] < 30'
grep -q "^State:[[:space:]]*[SR]" "$T/state-in-rollback" ||
	fail "the fault was not reverted before the rollbacks: $(cat "$T/state-in-rollback")"
grep -q "^State:[[:space:]]*T" "/proc/$victim/status" && fail "the victim is still stopped after the run"

# Interrupted while the fault is live: reverted at once, exit 3.
cat >"$T/int.json" <<JSON
{
  "title": "pause, then interrupt",
  "method": [
    {"type": "action", "name": "pause the victim",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim},
                  "params": {"method": "signal"}, "duration": "60s"}},
    {"type": "action", "name": "wait", "provider": {"type": "process", "path": "sh",
     "arguments": ["-c", "touch $T/waiting; exec sleep 60"]}}
  ]
}
JSON
(cd "$T" && exec "$FL" run --journal int-journal.json int.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_file "$T/waiting" "the method never reached its wait"
grep -q "^State:[[:space:]]*T" "/proc/$victim/status" || fail "the fault did not pause the victim"
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 3
grep -q "^State:[[:space:]]*T" "/proc/$victim/status" && fail "the victim is still stopped after the interrupt"
jassert "$T/int-journal.json" 'j["status"] == "interrupted"' 'j["duration"] < 30'
# An agent refuses a fault (nothing matches its target): all-or-nothing means
# nothing stays applied, the run is aborted with the reason, the rest of the
# method and the "after" hypothesis do not run, the rollbacks do.
cat >"$T/refused.json" <<JSON
{
  "title": "a refused fault aborts the run",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "count the checks", "tolerance": 0,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo x >> $T/checks"]}}
  ]},
  "method": [
    {"type": "action", "name": "kill nobody",
     "provider": {"type": "fault", "kind": "kill", "target": {"cmdline": "^no-such-process-here$"},
                  "duration": "5s"}},
    {"type": "action", "name": "after the refusal",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/after-refusal"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rollback", "provider": {"type": "process", "path": "touch",
     "arguments": ["$T/rolled-back"]}}
  ]
}
JSON
run_fl run --journal refused-journal.json refused.json
expect_rc 1
expect_out "ABORTED"
expect_out "no process matches"
[ -e "$T/after-refusal" ] && fail "the method went on after an agent refused a fault"
[ -e "$T/rolled-back" ] || fail "rollbacks did not run after the abort"
[ "$(wc -l < "$T/checks")" -eq 1 ] || fail "the after hypothesis ran after the abort"
jassert "$T/refused-journal.json" 'j["status"] == "aborted"' '"refused" in j["reason"]' \
	'j["run"][0]["status"] == "failed"' 'len(j["run"]) == 1'
echo "PASS"
