#!/bin/sh
# A load probe whose service stalls for 600 ms while every slot is taken
# (concurrency 1): the requests scheduled during the stall wait for the slot
# and count with their latency from when they were due (no "coordinated
# omission": the stall shows in the percentiles, as wrk2 measures), and
# none is dropped as not sent, since each found the slot within its timeout.
. "$(dirname "$0")/lib.sh"
start_httpd
httpd_pid=${PIDS##* }

cat >"$T/exp.json" <<JSON
{
  "title": "the service stalls under load",
  "steady-state-hypothesis": {"title": "answers under load", "probes": [
    {"type": "probe", "name": "mark", "mode": "after", "tolerance": 0,
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/load.starting"]}},
    {"type": "probe", "name": "load", "mode": "after",
     "tolerance": {"success_ratio": {"min": 0}},
     "provider": {"type": "load", "url": "$URL/json", "rate": 20, "duration": "3s",
                  "concurrency": 1, "timeout": 5}}
  ]},
  "method": [
    {"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}
  ]
}
JSON
(cd "$T" && exec "$FL" run exp.json) >"$T/out" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_file "$T/load.starting" "the load probe never started"
sleep 0.8
kill -STOP "$httpd_pid"
sleep 0.6
kill -CONT "$httpd_pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 0
# 60 requests; the ~12 due in the 600 ms stall are 600, 550, ... 50 ms late:
# the 4th highest (p95 by nearest rank) is about 450 ms, the highest 600 ms.
jassert "$T/journal.json" \
	'j["steady_states"]["after"]["probes"][1]["output"]["samples"] == 60' \
	'j["steady_states"]["after"]["probes"][1]["output"]["failed"] == 0' \
	'"not_sent" not in j["steady_states"]["after"]["probes"][1]["output"]' \
	'j["steady_states"]["after"]["probes"][1]["output"]["latency_ms"]["max"] >= 500' \
	'j["steady_states"]["after"]["probes"][1]["output"]["latency_ms"]["p95"] >= 250'
echo "PASS"
