#!/bin/sh
# A verdict never says "held" on something that was not evaluated:
# - a sampled window with no sample is not met (deviated, exit 1), with a
#   reason that says so, whatever its tolerance (even one that any sample
#   would meet);
# - an abort probe is a guard: its window fails (JUnit) only when it stopped
#   the run, so a held run's JUnit has no failure from a guard that did not trip.
. "$(dirname "$0")/lib.sh"
start_httpd

# 1. on-fault probes, no fault in the method: no sample, not met.
cat >"$T/onfault.json" <<JSON
{"title": "on-fault without a fault",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "any ratio", "mode": "on-fault", "interval": "50ms",
    "tolerance": {"success_ratio": {"min": 0}},
    "provider": {"type": "http", "url": "$URL/status/200"}},
   {"type": "probe", "name": "plain", "mode": "on-fault", "interval": "50ms", "tolerance": 200,
    "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "method": [{"type": "action", "name": "no fault here", "provider": {"type": "process", "path": "sleep", "arguments": ["0.3"]}}]}
JSON
run_fl run --junit junit.xml onfault.json
expect_rc 1
expect_out "DEVIATED"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is True and j["exit_code"] == 1' \
	'[d["output"]["samples"] for d in j["steady_states"]["during"]] == [0, 0]' \
	'[d["tolerance_met"] for d in j["steady_states"]["during"]] == [False, False]' \
	'all(d["tolerance_detail"] == "no sample was taken during the method (no fault of this run was live)" for d in j["steady_states"]["during"])' \
	'"probe \"any ratio\": no sample was taken" in j["reason"]'
junit_check "$T/junit.xml" \
	'r.get("failures") == "3" and r.get("errors") == "0"' \
	'[c.find("failure").get("message") for c in cases if c.get("classname") == "steady-state-during"] == ["no sample was taken during the method (no fault of this run was live)"] * 2' \
	'cases[-1].find("failure").get("type") == "Deviated"'

# 2. An abort guard that never trips (its min_samples is never reached, and a
#    late sample fails after the method ended): the run holds, and JUnit agrees.
cat >"$T/guard.json" <<JSON
{"title": "guard that does not trip",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "answers", "tolerance": 200, "provider": {"type": "http", "url": "$URL/status/200"}}]},
 "abort": [
   {"type": "probe", "name": "budget", "interval": "50ms",
    "tolerance": {"success_ratio": {"min": 0.5}, "min_samples": 1000},
    "provider": {"type": "http", "url": "$URL/status/200"}},
   {"type": "probe", "name": "late failure", "interval": "10s", "tolerance": 200,
    "provider": {"type": "http", "url": "$URL/delay/5000", "timeout": 0.5}}],
 "method": [{"type": "action", "name": "short", "provider": {"type": "process", "path": "sleep", "arguments": ["0.2"]}}]}
JSON
run_fl run --junit junit.xml guard.json
expect_rc 0
expect_out "steady state HELD"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["exit_code"] == 0' \
	'[d["mode"] for d in j["steady_states"]["during"]] == ["abort", "abort"]' \
	'[d["abort_triggered"] for d in j["steady_states"]["during"]] == [False, False]' \
	'all(d["tolerance_met"] for d in j["steady_states"]["during"])' \
	'j["steady_states"]["during"][0]["output"]["samples"] >= 2' \
	'j["steady_states"]["during"][1]["output"]["failed"] == 1' \
	'j["steady_states"]["during"][1]["output"]["finished_after_end"] == 1'
junit_check "$T/junit.xml" \
	'r.get("failures") == "0" and r.get("errors") == "0"' \
	'len(list(cases[-1])) == 0'

# 3. An on-fault sample that succeeds after the fault's lease may have ended is
#    no evidence that the system held under the fault: it is not counted
#    (succeeded_after_fault_ended). The lease runs from the apply request, so
#    a 1 s pause holds at most three back-to-back 0.3 s samples that ended
#    while it was live; before, a fourth that ended after the revert counted.
sleep 120 &
victim=$!
PIDS="$PIDS $victim"
mkdir -p "$T/rt"
cat >"$T/straddle.json" <<JSON
{"title": "samples that outlive the fault",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "slow success", "mode": "on-fault", "interval": "10ms", "tolerance": 0,
    "provider": {"type": "process", "path": "sleep", "arguments": ["0.3"]}}]},
 "method": [{"type": "action", "name": "pause for 1s",
   "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim},
                "params": {"method": "signal"}, "duration": "1s"},
   "pauses": {"after": 1.5}}]}
JSON
XDG_RUNTIME_DIR="$T/rt" run_fl run straddle.json
expect_rc 0
expect_out "steady state HELD"
jassert "$T/journal.json" \
	'j["steady_states"]["during"][0]["tolerance_met"] is True' \
	'1 <= j["steady_states"]["during"][0]["output"]["samples"] <= 3' \
	'j["steady_states"]["during"][0]["output"]["failed"] == 0' \
	'j["steady_states"]["during"][0]["output"]["succeeded_after_fault_ended"] >= 1'
run_fl report journal.json -o straddle.html
expect_rc 0
grep -q "succeeded after the fault could end" "$T/straddle.html" ||
	fail "the HTML report does not show the successes left out"
echo "PASS"
