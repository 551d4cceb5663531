#!/bin/sh
# Timeouts: an activity's own timeout fails it (and the run, exit 1) after
# stopping its process group; the experiment's "timeout" aborts the run
# (exit 1, status aborted) and rollbacks still run.
. "$(dirname "$0")/lib.sh"
start_httpd

cat >"$T/act.json" <<JSON
{
  "title": "activity timeout",
  "method": [
    {"type": "action", "name": "too slow",
     "provider": {"type": "process", "path": "sleep", "arguments": ["30"], "timeout": 0.3}},
    {"type": "probe", "name": "slow http",
     "provider": {"type": "http", "url": "$URL/delay/3000", "timeout": 0.3}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rb", "provider": {"type": "process", "path": "touch", "arguments": ["$T/rb1"]}}
  ]
}
JSON
t0=$(date +%s)
run_fl run act.json
expect_rc 1
[ $(($(date +%s) - t0)) -le 8 ] || fail "activity timeouts were not enforced"
[ -e "$T/rb1" ] || fail "rollbacks did not run"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["exit_code"] == 1' \
	'[r["status"] for r in j["run"]] == ["failed", "failed"]' \
	'"timeout" in j["run"][0]["exception"][0]' \
	'j["run"][0]["duration"] < 3' \
	'j["run"][1]["duration"] < 3'

cat >"$T/exp.json" <<JSON
{
  "title": "experiment timeout",
  "timeout": 1,
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "ok", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
  ]},
  "method": [
    {"type": "action", "name": "forever", "provider": {"type": "process", "path": "sleep", "arguments": ["30"]}},
    {"type": "action", "name": "never", "provider": {"type": "process", "path": "touch", "arguments": ["$T/never"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rb", "provider": {"type": "process", "path": "touch", "arguments": ["$T/rb2"]}}
  ]
}
JSON
t0=$(date +%s)
run_fl run exp.json
expect_rc 1
[ $(($(date +%s) - t0)) -le 6 ] || fail "the experiment timeout was not enforced"
[ -e "$T/rb2" ] || fail "rollbacks did not run after the timeout"
[ ! -e "$T/never" ] || fail "the method went on after the timeout"
expect_out "ABORTED"
jassert "$T/journal.json" \
	'j["status"] == "aborted"' \
	'"timeout" in j["reason"]' \
	'j["steady_states"]["after"] is None' \
	'j["rollbacks"][0]["status"] == "succeeded"'
echo "PASS"
