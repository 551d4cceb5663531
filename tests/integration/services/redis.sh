#!/bin/sh
# redis-server as a cache, started with the syscall shim (LD_PRELOAD).
#  1. a `syscall` fault (through the embedded agent) delays half of redis's
#     read() calls by 200 ms for 3 s: reads still succeed but the client-side
#     p95 goes past 100 ms: deviated on latency, sample counts asserted;
#  2. a 3 s stall (pause fault, SIGSTOP) breaks "95% of reads succeed": deviated
#     on the success ratio; redis is running (not stopped) and answering after.
#     The on-fault tcp probe beside it samples only while the pause lives (3 s
#     of the 5 s method: about 15 samples at 200 ms, where the whole method
#     would give 25).
# (This kernel has no netem, so there is no network-delay variant.)
. "$(dirname "$0")/lib.sh"

need_pkg redis-server redis-server
need_pkg redis-tools redis-cli
EXP="$SRC/experiments/examples/redis-pause-latency.json"

P=$(free_port)
LD_PRELOAD=$SHIM redis-server --port "$P" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
	--logfile "$T/redis.log" >/dev/null 2>&1 &
echo $! >"$T/redis.pid"
PIDS="$PIDS $!"
if ! wait_port "$P"; then
	# Not with the shim: without it? If so the shim broke it (a failure, not a skip).
	P2=$(free_port)
	redis-server --port "$P2" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
		--logfile "$T/redis-plain.log" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$P2" && fail "redis-server starts without the shim but not with LD_PRELOAD=$SHIM: $(tail -2 "$T/redis.log" 2>/dev/null)"
	skip "redis-server did not start: $(tail -2 "$T/redis-plain.log" 2>/dev/null)"
fi
redis-cli -h 127.0.0.1 -p "$P" set greeting hello >/dev/null || fail "cannot write the test key"
RPID=$(cat "$T/redis.pid")
[ -e "/dev/shm/faultline-$RPID" ] || fail "redis-server runs with LD_PRELOAD=$SHIM but did not register with the shim"

# 1. Slowed reads (syscall fault): latency deviates, the success ratio holds.
REDIS_PORT=$P run_fl run --var "redis_pid:int=$RPID" --journal syscall.json \
	"$SRC/experiments/examples/redis-syscall-latency.json"
summary "$T/syscall.json"
expect_rc 1
jassert "$T/syscall.json" \
	'j["status"] == "completed" and j["deviated"] is True' \
	'j["run"][0]["status"] == "succeeded"' \
	'd("cache reads")["output"]["samples"] >= 15' \
	'd("cache reads")["output"]["success_ratio"] >= 0.95' \
	'd("cache reads")["output"]["latency_ms"]["p95"] >= 150' \
	'd("cache reads")["tolerance_met"] is False' \
	'"p95 latency" in j["reason"]' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is True'
# disarmed after the run: a read is fast again
python3 - "$P" <<'PY' || fail "redis is still slow after the run"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
t = time.time()
for _ in range(10):
    s.sendall(b"PING\r\n"); s.recv(64)
sys.exit(0 if time.time() - t < 0.5 else 1)
PY

# 2. A stall (pause fault): the success ratio deviates.

REDIS_PORT=$P REDIS_PIDFILE="$T/redis.pid" run_fl run --journal journal.json "$EXP"
summary "$T/journal.json"
expect_rc 1
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is True' \
	'j["steady_states"]["before"]["steady_state_met"] is True' \
	'd("cache reads")["output"]["samples"] >= 15' \
	'd("cache reads")["output"]["failed"] >= 3' \
	'd("cache reads")["output"]["succeeded"] >= 8' \
	'd("cache reads")["output"]["success_ratio"] < 0.95' \
	'd("cache reads")["tolerance_met"] is False' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is True' \
	'd("the port still accepts connections while stalled")["mode"] == "on-fault"' \
	'd("the port still accepts connections while stalled")["output"]["samples"] >= 5' \
	'd("the port still accepts connections while stalled")["output"]["samples"] <= 20' \
	'd("cache reads")["duration"] >= 4.5' \
	'd("the port still accepts connections while stalled")["output"]["failed"] == 0' \
	'd("the port still accepts connections while stalled")["tolerance_met"] is True' \
	'"cache reads" in j["reason"]'
pid=$(cat "$T/redis.pid")
grep -q '^State:[[:space:]]*T' "/proc/$pid/status" && fail "redis is still stopped after the run"
[ "$(redis-cli -h 127.0.0.1 -p "$P" get greeting)" = hello ] || fail "redis does not answer after the run"
echo "PASS: redis stall deviates the client-side SLO; redis answers again"
