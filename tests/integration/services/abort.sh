#!/bin/sh
# An abort condition: a 30 s pause of a web server burns the error budget of
# the abort probe; the run stops within seconds, the pause is reverted at once
# (the server answers again right after), the rollbacks run, the journal says
# "aborted" and why, and faultline exits 1. Then the same across two real
# agents (each pausing its own server), with --rollback-strategy never.
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

# Every live fault on every agent: two real agents (an --agents inventory),
# each pausing its own web server for 30 s; the abort probe watches only the
# first. Both pauses are reverted at once, before the rollbacks run (which
# run although --rollback-strategy never), and neither agent keeps a fault.
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token")
# start_site H: a web server, PID in $T/siteH.pid; its port printed.
start_site() {
	port=$(free_port)
	mkdir -p "$T/www$1"
	echo "site $1" >"$T/www$1/index.html"
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/www$1" >"$T/site$1.log" 2>&1 &
	echo $! >"$T/site$1.pid"
	echo "$port"
}
# start_agent H: a faultline-agent on a loopback port; its port printed.
start_agent() {
	port=$(free_port)
	mkdir -p "$T/state$1"
	"$AGENT" --listen "127.0.0.1:$port" --token-file "$T/token" --state-dir "$T/state$1" \
		>"$T/agent$1.log" 2>&1 &
	echo $! >"$T/agent$1.pid"
	echo "$port"
}
SP1=$(start_site 1)
SP2=$(start_site 2)
AP1=$(start_agent 1)
AP2=$(start_agent 2)
PIDS="$PIDS $(cat "$T/site1.pid" "$T/site2.pid" "$T/agent1.pid" "$T/agent2.pid" | tr '\n' ' ')"
for port in "$SP1" "$SP2"; do wait_port "$port" || skip "python3 http.server did not start"; done
for port in "$AP1" "$AP2"; do wait_port "$port" || fail "faultline-agent did not start: $(cat "$T"/agent?.log)"; done
S1=$(cat "$T/site1.pid")
S2=$(cat "$T/site2.pid")
cat >"$T/inventory.json" <<JSON
{"token_file": "$T/token", "agents": [{"name": "host-1", "address": "127.0.0.1:$AP1"},
                                      {"name": "host-2", "address": "127.0.0.1:$AP2"}]}
JSON
cat >"$T/two.json" <<JSON
{"title": "abort across two agents",
 "abort": [{"type": "probe", "name": "site 1 error budget", "interval": "100ms",
   "tolerance": {"success_ratio": {"min": 0.8}, "min_samples": 5},
   "provider": {"type": "http", "url": "http://127.0.0.1:$SP1/", "timeout": 0.3}}],
 "method": [
  {"type": "action", "name": "stall site 2 (host-2)", "provider": {"type": "fault", "kind": "pause",
   "target": {"pidfile": "$T/site2.pid"}, "params": {"method": "signal"}, "duration": "30s",
   "agents": ["host-2"]}},
  {"type": "action", "name": "stall site 1 (host-1)", "provider": {"type": "fault", "kind": "pause",
   "target": {"pidfile": "$T/site1.pid"}, "params": {"method": "signal"}, "duration": "30s",
   "agents": ["host-1"]}, "pauses": {"after": 30}}],
 "rollbacks": [{"type": "action", "name": "states at rollback time", "provider": {"type": "process",
   "path": "sh", "arguments": ["-c", "grep -h '^State:' /proc/$S1/status /proc/$S2/status >$T/states"]}}]}
JSON
start=$(date +%s)
run_fl run --agents "$T/inventory.json" --rollback-strategy never --journal two-journal.json two.json
took=$(($(date +%s) - start))
summary "$T/two-journal.json"
expect_rc 1
[ "$took" -lt 10 ] || fail "the abort across two agents took ${took}s"
jassert "$T/two-journal.json" \
	'j["status"] == "aborted"' \
	'j["reason"].startswith("abort condition \"site 1 error budget\" met")' \
	'[r["status"] for r in j["run"]] == ["succeeded", "succeeded"]' \
	'j["rollbacks"][0]["status"] == "succeeded"' \
	'd("site 1 error budget")["abort_triggered"] is True'
[ -s "$T/states" ] || fail "the rollback did not run under --rollback-strategy never"
grep -q 'stopped' "$T/states" && fail "a pause was still live when the rollbacks ran: $(cat "$T/states")"
for h in 1 2; do
	if [ $h = 1 ]; then sp=$SP1 ap=$AP1; else sp=$SP2 ap=$AP2; fi
	curl -fsS -m 2 "http://127.0.0.1:$sp/" >/dev/null || fail "site $h does not answer after the abort"
	live=$(curl -fsS -m 2 -H "Authorization: Bearer $(cat "$T/token")" "http://127.0.0.1:$ap/v1/faults") ||
		fail "agent $h does not answer"
	python3 -c 'import json, sys; sys.exit(1 if json.loads(sys.argv[1])["faults"] else 0)' "$live" ||
		fail "agent $h still has live faults: $live"
done
echo "PASS: aborted in ${took}s across two agents: both pauses reverted before the rollbacks"

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
