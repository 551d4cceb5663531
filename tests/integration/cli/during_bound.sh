#!/bin/sh
# The wait for a sample in flight at the end of the method is bounded: a
# `process` probe without a timeout of its own gets 30 s (+1 s for the
# provider), then it is stopped (its process too) and counted as failed.
# Takes ~31 s on purpose: that bound is what is tested.
. "$(dirname "$0")/lib.sh"

cat >"$T/hang.json" <<JSON
{"title": "sample that never ends",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "hangs", "mode": "during", "interval": "10s", "tolerance": 0,
    "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo \$\$ > $T/probe.pid; exec sleep 120"]}}]},
 "method": [{"type": "action", "name": "short", "provider": {"type": "process", "path": "sleep", "arguments": ["0.2"]}}]}
JSON
t0=$(date +%s)
run_fl run --junit junit.xml hang.json
took=$(($(date +%s) - t0))
expect_rc 1
[ "$took" -ge 29 ] || fail "the run did not wait for the sample (${took}s)"
[ "$took" -le 40 ] || fail "the wait was not bounded (${took}s)"
pid=$(cat "$T/probe.pid")
sleep 0.2
if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
	kill "$pid"
	fail "the probe's process $pid survived"
fi
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is True' \
	'j["steady_states"]["during"][0]["output"]["samples"] == 1' \
	'j["steady_states"]["during"][0]["output"]["failed"] == 1' \
	'j["steady_states"]["during"][0]["output"]["finished_after_end"] == 1' \
	'j["steady_states"]["during"][0]["output"]["latency_ms"]["max"] >= 30000' \
	'"no result 30s after the sample started" in j["steady_states"]["during"][0]["output"]["last_failure"]'
junit_check "$T/junit.xml" \
	'[c for c in cases if c.get("name") == "hangs"][0].find("failure") is not None'
echo "PASS"
