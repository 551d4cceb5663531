#!/bin/sh
# A sample of a `during` probe that started while the method ran belongs to
# the window: when the method ends first, the window waits for it (bounded by
# its timeout) and counts it, in the verdict and in the journal. A real slow
# HTTP server (httpd.py /delay/MS) answers later than the method lasts.
# An interrupt still cuts such samples at once.
. "$(dirname "$0")/lib.sh"
start_httpd

# 1. One http sample of 1.5 s, a method of 0.2 s: the sample is counted, and
#    the window's latency is the real one. The load probe's requests too.
cat >"$T/slow.json" <<JSON
{"title": "slow sample",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "slow page", "mode": "during", "interval": "10s",
    "tolerance": {"success_ratio": {"min": 1}, "latency": {"p95": "5s"}},
    "provider": {"type": "http", "url": "$URL/delay/1500", "timeout": 5}},
   {"type": "probe", "name": "slow page, plain tolerance", "mode": "during", "interval": "10s",
    "tolerance": 200,
    "provider": {"type": "http", "url": "$URL/delay/1200", "timeout": 5}},
   {"type": "probe", "name": "slow load", "mode": "during",
    "tolerance": {"success_ratio": {"min": 1}, "min_samples": 2},
    "provider": {"type": "load", "url": "$URL/delay/1000", "rate": 10, "timeout": 5}}]},
 "method": [{"type": "action", "name": "short", "provider": {"type": "process", "path": "sleep", "arguments": ["0.2"]}}]}
JSON
t0=$(date +%s%N)
run_fl run --junit junit.xml slow.json
took=$((($(date +%s%N) - t0) / 1000000))
expect_rc 0
expect_out "steady state HELD"
[ "$took" -ge 1400 ] || fail "the run did not wait for the sample in flight (${took} ms)"
[ "$took" -lt 8000 ] || fail "the run took ${took} ms"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'[d["name"] for d in j["steady_states"]["during"]] == ["slow page", "slow page, plain tolerance", "slow load"]' \
	'j["steady_states"]["during"][0]["output"]["samples"] == 1' \
	'j["steady_states"]["during"][0]["output"]["succeeded"] == 1' \
	'j["steady_states"]["during"][0]["output"]["finished_after_end"] == 1' \
	'j["steady_states"]["during"][0]["output"]["latency_ms"]["p50"] >= 1500' \
	'j["steady_states"]["during"][0]["tolerance_met"] is True' \
	'j["steady_states"]["during"][0]["duration"] >= 1.4' \
	'j["steady_states"]["during"][1]["output"]["samples"] == 1' \
	'j["steady_states"]["during"][1]["tolerance_met"] is True' \
	'j["steady_states"]["during"][2]["output"]["samples"] >= 2' \
	'j["steady_states"]["during"][2]["output"]["succeeded"] == j["steady_states"]["during"][2]["output"]["samples"]' \
	'j["steady_states"]["during"][2]["output"]["finished_after_end"] >= 2' \
	'"in_flight_at_end" not in j["steady_states"]["during"][2]["output"]' \
	'j["steady_states"]["during"][2]["output"]["latency_ms"]["p50"] >= 1000'
junit_check "$T/junit.xml" \
	'r.get("failures") == "0" and r.get("errors") == "0"' \
	'[c.get("name") for c in cases if c.get("classname") == "steady-state-during"] == ["slow page", "slow page, plain tolerance", "slow load"]'

# 2. The late sample fails (no answer within its 1 s timeout): it is
#    counted as failed and the run deviates. The sample's timeout bounds the wait.
cat >"$T/late-fail.json" <<JSON
{"title": "late failure",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "times out", "mode": "during", "interval": "10s",
    "tolerance": {"success_ratio": {"min": 1}},
    "provider": {"type": "http", "url": "$URL/delay/20000", "timeout": 1}}]},
 "method": [{"type": "action", "name": "short", "provider": {"type": "process", "path": "true"}}]}
JSON
t0=$(date +%s%N)
run_fl run --junit junit.xml late-fail.json
took=$((($(date +%s%N) - t0) / 1000000))
expect_rc 1
expect_out "DEVIATED"
[ "$took" -ge 900 ] || fail "the run did not wait for the sample in flight (${took} ms)"
[ "$took" -lt 6000 ] || fail "the sample's timeout did not bound the wait (${took} ms)"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is True' \
	'j["steady_states"]["during"][0]["output"]["samples"] == 1' \
	'j["steady_states"]["during"][0]["output"]["failed"] == 1' \
	'j["steady_states"]["during"][0]["output"]["finished_after_end"] == 1' \
	'"no complete response within 1s" in j["steady_states"]["during"][0]["output"]["last_failure"]' \
	'"times out" in j["reason"]'
junit_check "$T/junit.xml" \
	'[c for c in cases if c.get("name") == "times out"][0].find("failure") is not None' \
	'cases[-1].find("failure").get("type") == "Deviated"'

# 3. SIGINT while a slow sample is in flight: no waiting, exit 3 at once.
cat >"$T/int.json" <<JSON
{"title": "interrupt with a sample in flight",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "very slow", "mode": "during", "interval": "10s", "tolerance": 200,
    "provider": {"type": "http", "url": "$URL/delay/15000", "timeout": 20}}]},
 "method": [{"type": "action", "name": "wait", "provider": {"type": "process", "path": "sh",
   "arguments": ["-c", "touch $T/waiting; exec sleep 60"]}}]}
JSON
(cd "$T" && exec "$FL" run --journal int-journal.json int.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_file "$T/waiting" "the method did not start"
sleep 0.3
t0=$(date +%s%N)
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
took=$((($(date +%s%N) - t0) / 1000000))
expect_rc 3
[ "$took" -lt 3000 ] || fail "the interrupt waited for the sample in flight (${took} ms)"
jassert "$T/int-journal.json" \
	'j["status"] == "interrupted"' \
	'j["steady_states"]["during"][0]["output"]["samples"] == 0' \
	'j["steady_states"]["during"][0]["output"]["in_flight_at_end"] == 1' \
	'"stopped while one was running" in j["steady_states"]["during"][0]["tolerance_detail"]'

# 4. The experiment's timeout passes while the window waits for a sample in
#    flight: the run is aborted by the timeout (not judged on a cut window).
cat >"$T/to.json" <<JSON
{"title": "timeout while waiting", "timeout": 1,
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "slow", "mode": "during", "interval": "10s", "tolerance": 200,
    "provider": {"type": "http", "url": "$URL/delay/5000", "timeout": 10}}]},
 "method": [{"type": "action", "name": "short", "provider": {"type": "process", "path": "sleep", "arguments": ["0.3"]}}]}
JSON
t0=$(date +%s%N)
run_fl run --junit junit.xml to.json
took=$((($(date +%s%N) - t0) / 1000000))
expect_rc 1
[ "$took" -lt 4000 ] || fail "the experiment's timeout did not bound the wait (${took} ms)"
jassert "$T/journal.json" \
	'j["status"] == "aborted"' \
	'"timeout of 1s passed" in j["reason"]' \
	'j["steady_states"]["during"][0]["output"]["samples"] == 0' \
	'j["steady_states"]["during"][0]["output"]["in_flight_at_end"] == 1' \
	'"stopped while one was running" in j["steady_states"]["during"][0]["tolerance_detail"]'
junit_check "$T/junit.xml" 'cases[-1].find("failure").get("type") == "Aborted"'

# 5. However short the method (empty, as CTK allows, or one `true`) and however
#    busy the machine, the window holds a sample: the method starts only after
#    each during probe has started its first one. (Before, the method could end
#    before the sampler thread ran: 6 of 20 empty-method runs had no sample.)
for method in '[]' '[{"type": "action", "name": "t", "provider": {"type": "process", "path": "true"}}]'; do
	cat >"$T/fast.json" <<JSON
{"title": "fast method",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "p", "mode": "during", "interval": "10s", "tolerance": 0,
    "provider": {"type": "process", "path": "true"}}]},
 "method": $method}
JSON
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run_fl run fast.json
		expect_rc 0
		jassert "$T/journal.json" \
			'j["steady_states"]["during"][0]["output"]["samples"] == 1' \
			'j["steady_states"]["during"][0]["tolerance_met"] is True'
	done
done
echo "PASS"
