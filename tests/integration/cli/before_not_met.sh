#!/bin/sh
# The hypothesis fails before the method: the method is skipped (Chaos
# Toolkit's gate), exit 1, status "completed" (as chaoslib writes it: the
# probe ran, its value was out of tolerance), not deviated. Rollbacks follow the
# strategy: always (faultline's default) and default (Chaos Toolkit's, which
# skips them only on "failed" or "interrupted") run them; deviated and never
# skip them.
. "$(dirname "$0")/lib.sh"
start_httpd

cat >"$T/exp.json" <<JSON
{
  "title": "gate",
  "steady-state-hypothesis": {
    "title": "service answers 200",
    "probes": [
      {"type": "probe", "name": "answers", "tolerance": 200,
       "provider": {"type": "http", "url": "$URL/status/500"}}
    ]
  },
  "method": [
    {"type": "action", "name": "must not run",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/method.marker"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rollback",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/rollback.marker"]}}
  ]
}
JSON

for strategy in "" always default deviated never; do
	rm -f "$T/method.marker" "$T/rollback.marker"
	if [ -n "$strategy" ]; then
		run_fl run --junit junit.xml --rollback-strategy "$strategy" exp.json
	else
		run_fl run --junit junit.xml exp.json
	fi
	expect_rc 1
	expect_out "FAILED"
	[ ! -e "$T/method.marker" ] || fail "the method ran although the steady state was not met"
	case "$strategy" in
	"" | always | default) [ -e "$T/rollback.marker" ] || fail "rollbacks did not run ($strategy)" ;;
	*) [ ! -e "$T/rollback.marker" ] || fail "rollbacks ran with strategy $strategy" ;;
	esac
	jassert "$T/journal.json" \
		'j["status"] == "completed"' 'j["deviated"] is False' 'j["run"] == []' \
		'j["exit_code"] == 1 and j["steady_state_met"] is False' \
		'j["steady_states"]["before"]["steady_state_met"] is False' \
		'j["steady_states"]["after"] is None'
done
junit_check "$T/junit.xml" \
	'r.get("tests") == "5" and r.get("failures") == "2" and r.find("testsuite").get("skipped") == "3"' \
	'"500" in cases[0].find("failure").text' \
	'[c.get("classname") for c in cases] == ["steady-state-before", "method", "steady-state-after", "rollbacks", "experiment"]' \
	'all(c.find("skipped") is not None for c in cases[1:4])' \
	'"before the method not met" in cases[1].find("skipped").get("message")' \
	'"strategy \"never\"" in cases[3].find("skipped").get("message")' \
	'cases[4].find("failure").get("type") == "SteadyStateNotMet"'
# A ref takes its definition's mode: the JUnit report must blame the probe
# that failed, not the ref that did not run in this phase.
cat >"$T/ref.json" <<JSON
{
  "title": "ref with a mode",
  "steady-state-hypothesis": {
    "title": "two probes",
    "probes": [
      {"type": "probe", "name": "late", "mode": "after", "tolerance": 0,
       "provider": {"type": "process", "path": "true"}},
      {"ref": "late"},
      {"type": "probe", "name": "answers", "tolerance": 200,
       "provider": {"type": "http", "url": "$URL/status/500"}}
    ]
  },
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]
}
JSON
run_fl run --junit refjunit.xml ref.json
expect_rc 1
jassert "$T/journal.json" 'len(j["steady_states"]["before"]["probes"]) == 1'
junit_check "$T/refjunit.xml" \
	'r.get("failures") == "2"' \
	'[c.get("name") for c in cases if c.get("classname") == "steady-state-before"] == ["answers"]' \
	'[c for c in cases if c.get("name") == "answers"][0].find("failure") is not None'
echo "PASS"
