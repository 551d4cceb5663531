#!/bin/sh
# Chaos Monkey across a group: four real faultline-agents on loopback ports,
# each allowed to touch only its own "host's" service process. The experiment
# kills the service on 2 hosts picked at random with a seed that the journal
# records; replaying with that seed (MONKEY_SEED) picks the same hosts.
. "$(dirname "$0")/lib.sh"

EXP="$SRC/experiments/examples/chaos-monkey.json"
# The services' name, unique to this run: the experiment counts and kills
# processes by command line, and other runs of this test (other checkouts,
# CTest -j) may share the machine.
MONKEY_VICTIM="monkey-victim-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export MONKEY_VICTIM
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token")

inv="{\"token_file\": \"$T/token\", \"agents\": ["
for h in 1 2 3 4; do
	port=$(free_port)
	mkdir -p "$T/state-$h"
	printf '{"allow": {"cmdlines": ["%s host-%s$"]}}\n' "$MONKEY_VICTIM" "$h" >"$T/agent-$h.json"
	"$AGENT" --listen "127.0.0.1:$port" --token-file "$T/token" --state-dir "$T/state-$h" \
		--config "$T/agent-$h.json" 2>"$T/agent-$h.log" &
	PIDS="$PIDS $!"
	wait_port "$port" || fail "agent $h did not start: $(tail -2 "$T/agent-$h.log")"
	inv="$inv${h#1}{\"name\": \"host-$h\", \"address\": \"127.0.0.1:$port\"}"
	[ "$h" = 4 ] || inv="$inv,"
done
echo "$inv]}" | sed 's/,[234]{/,{/g' >"$T/inventory.json"

# start_services: one service process per host (the previous ones stopped);
# V<h> holds its PID.
start_services() {
	for h in 1 2 3 4; do
		eval "p=\${V$h:-}"
		[ -z "$p" ] || { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
	done
	for h in 1 2 3 4; do
		python3 -c 'import sys, time; time.sleep(300)' "$MONKEY_VICTIM" "host-$h" &
		eval "V$h=$!"
		PIDS="$PIDS $!"
	done
	sleep 0.2
}

# dead_hosts: the hosts whose service process is gone, as "h h".
dead_hosts() {
	out=""
	for h in 1 2 3 4; do
		eval "p=\$V$h"
		if ! kill -0 "$p" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; then
			out="$out $h"
		fi
	done
	echo "$out"
}

start_services
MONKEY_SEED="" run_fl run --agents "$T/inventory.json" --journal first.json "$EXP"
expect_rc 0
summary "$T/first.json"
jassert "$T/first.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'j["steady_states"]["before"]["probes"][0]["output"] == 4' \
	'j["steady_states"]["after"]["probes"][0]["output"] == 2' \
	'j["run"][0]["output"]["monkey_seed"].isdigit()'
seed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"][0]["output"]["monkey_seed"])' "$T/first.json")
first=$(dead_hosts)
echo "seed $seed killed hosts:$first"
[ "$(echo $first | wc -w)" -eq 2 ] || fail "expected 2 killed hosts, got '$first'"

start_services
MONKEY_SEED=$seed run_fl run --agents "$T/inventory.json" --journal replay.json "$EXP"
expect_rc 0
second=$(dead_hosts)
echo "replay with seed $seed killed hosts:$second"
[ "$first" = "$second" ] || fail "the replay picked other hosts: '$first' then '$second'"
jassert "$T/replay.json" "j['run'][0]['output']['monkey_seed'] == '$seed'"
echo "PASS: chaos monkey picks are recorded and replayed by seed"
