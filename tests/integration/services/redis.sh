#!/bin/sh
# redis-server as a cache: a 3 s stall (pause fault, SIGSTOP through the
# embedded agent) breaks the client-side SLO "95% of reads within 100 ms":
# the experiment deviates; the sample counts are in the journal; redis is
# running (not stopped) and answering afterwards.
#
# This kernel has no netem and the syscall fault kind is not on main yet, so
# the latency comes from a pause of the server, not from a network or
# syscall delay (docs/guide.md says so).
. "$(dirname "$0")/lib.sh"

need_pkg redis-server redis-server
need_pkg redis-tools redis-cli
EXP="$SRC/experiments/examples/redis-pause-latency.json"

P=$(free_port)
redis-server --port "$P" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
	--logfile "$T/redis.log" >/dev/null 2>&1 &
echo $! >"$T/redis.pid"
PIDS="$PIDS $!"
wait_port "$P" || skip "redis-server did not start: $(tail -2 "$T/redis.log" 2>/dev/null)"
redis-cli -h 127.0.0.1 -p "$P" set greeting hello >/dev/null || fail "cannot write the test key"

REDIS_PORT=$P REDIS_PIDFILE="$T/redis.pid" run_fl run --journal journal.json "$EXP"
summary "$T/journal.json"
expect_rc 1
jassert "$T/journal.json" \
	'j["status"] == "failed" and j["deviated"] is True' \
	'j["steady_states"]["before"]["steady_state_met"] is True' \
	'd("cache reads")["output"]["samples"] >= 15' \
	'd("cache reads")["output"]["failed"] >= 3' \
	'd("cache reads")["output"]["succeeded"] >= 8' \
	'd("cache reads")["output"]["success_ratio"] < 0.95' \
	'd("cache reads")["tolerance_met"] is False' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is True' \
	'd("the port still accepts connections while stalled")["mode"] == "on-fault"' \
	'd("the port still accepts connections while stalled")["output"]["samples"] >= 5' \
	'd("the port still accepts connections while stalled")["output"]["failed"] == 0' \
	'd("the port still accepts connections while stalled")["tolerance_met"] is True' \
	'"cache reads" in j["reason"]'
pid=$(cat "$T/redis.pid")
grep -q '^State:[[:space:]]*T' "/proc/$pid/status" && fail "redis is still stopped after the run"
[ "$(redis-cli -h 127.0.0.1 -p "$P" get greeting)" = hello ] || fail "redis does not answer after the run"
echo "PASS: redis stall deviates the client-side SLO; redis answers again"
