#!/bin/sh
# A once-judged load probe whose service hangs part-way through its window:
# the requests that never answer are failures (they time out), not left
# uncounted "in flight" while the few answered ones make the SLO hold.
. "$(dirname "$0")/lib.sh"
start_httpd
httpd_pid=${PIDS##* }

cat >"$T/exp.json" <<JSON
{
  "title": "the service hangs under load",
  "steady-state-hypothesis": {"title": "answers under load", "probes": [
    {"type": "probe", "name": "mark", "mode": "after", "tolerance": 0,
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/load.starting"]}},
    {"type": "probe", "name": "load", "mode": "after",
     "tolerance": {"success_ratio": {"min": 0.99}},
     "provider": {"type": "load", "url": "$URL/json", "rate": 20, "duration": "1500ms",
                  "timeout": 2}}
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
sleep 0.5
kill -STOP "$httpd_pid"
set +e
wait "$pid"
RC=$?
set -e
kill -CONT "$httpd_pid"
expect_rc 1
jassert "$T/journal.json" \
	'j["steady_states"]["after"]["steady_state_met"] is False' \
	'j["steady_states"]["after"]["probes"][1]["output"]["failed"] > 0' \
	'"in_flight_at_end" not in j["steady_states"]["after"]["probes"][1]["output"]'
echo "PASS"
