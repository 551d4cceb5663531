#!/bin/sh
# An abort condition: a 30 s pause of a web server burns the error budget of
# the abort probe; the run stops within seconds, the pause is reverted at once
# (the server answers again right after), the rollbacks run, the journal says
# "aborted" and why, and faultline exits 1.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
echo ok >"$T/www/index.html"
P=$(free_port)
python3 -m http.server "$P" --bind 127.0.0.1 --directory "$T/www" >"$T/site.log" 2>&1 &
echo $! >"$T/site.pid"
PIDS="$PIDS $!"
wait_port "$P" || skip "python3 http.server did not start"

start=$(date +%s)
SITE_URL="http://127.0.0.1:$P/" SITE_PIDFILE="$T/site.pid" ROLLBACK_MARKER="$T/rolled-back" \
	run_fl run --journal journal.json "$SRC/experiments/examples/abort-on-error-budget.json"
took=$(($(date +%s) - start))
summary "$T/journal.json"
expect_rc 1
grep -q "ABORTED" "$T/out" || fail "the summary does not say ABORTED"
[ "$took" -lt 10 ] || fail "the abort took ${took}s"
jassert "$T/journal.json" \
	'j["status"] == "aborted"' \
	'j["reason"].startswith("abort condition \"error budget\" met: success ratio")' \
	'len(j["run"]) == 1' \
	'j["rollbacks"][0]["status"] == "succeeded"' \
	'd("error budget")["mode"] == "abort"' \
	'd("error budget")["output"]["samples"] >= 5' \
	'd("error budget")["output"]["failed"] >= 1' \
	'j["duration"] < 10'
[ -f "$T/rolled-back" ] || fail "the rollback did not run"
grep -q '^State:[[:space:]]*T' "/proc/$(cat "$T/site.pid")/status" && fail "the server is still stopped"
curl -fsS -m 2 "http://127.0.0.1:$P/" >/dev/null || fail "the server does not answer after the abort"
echo "PASS: aborted in ${took}s, fault reverted, rollbacks ran"

# An interrupt while probes are sampled: the samplers stop with the method,
# the windows are still in the journal, and faultline exits 3 at once.
cat >"$T/int.json" <<JSON
{"title": "interrupt while sampling",
 "steady-state-hypothesis": {"title": "h", "probes": [
   {"type": "probe", "name": "load", "mode": "during", "tolerance": {"success_ratio": {"min": 0.99}},
    "provider": {"type": "load", "url": "http://127.0.0.1:$P/", "rate": 20}},
   {"type": "probe", "name": "tcp", "mode": "during", "interval": "100ms", "tolerance": true,
    "provider": {"type": "tcp", "host": "127.0.0.1", "port": $P}}]},
 "method": [{"type": "action", "name": "wait", "provider": {"type": "process", "path": "sh",
   "arguments": ["-c", "touch $T/waiting; exec sleep 60"]}}]}
JSON
(cd "$T" && exec "$FL" run --journal int-journal.json int.json) >"$T/out" 2>&1 &
FPID=$!
PIDS="$PIDS $FPID"
i=0
while [ ! -f "$T/waiting" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the method did not start"
	sleep 0.05
done
sleep 1
start=$(date +%s)
kill -INT "$FPID"
set +e
wait "$FPID"
RC=$?
set -e
took=$(($(date +%s) - start))
expect_rc 3
[ "$took" -le 3 ] || fail "the interrupted run took ${took}s to stop"
jassert "$T/int-journal.json" \
	'j["status"] == "interrupted"' \
	'd("load")["output"]["samples"] >= 10' \
	'd("tcp")["output"]["samples"] >= 5' \
	'd("tcp")["output"]["failed"] == 0'
echo "PASS: interrupted while sampling: exit 3 in ${took}s, windows in the journal"
