#!/bin/sh
# Prometheus (Debian package `prometheus`, installed by this harness when
# missing) scrapes a real faultline-agent on a loopback TCP port with a bearer
# token; the experiment pauses a victim through that agent, and an instant
# PromQL query after the method sees faultline_agent_faults_applied_total
# {kind="pause"} move from 0 to 1. The hypothesis holds (exit 0).
. "$(dirname "$0")/lib.sh"

need_pkg prometheus prometheus
EXP="$SRC/experiments/examples/prometheus-agent-metrics.json"

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token")
mkdir -p "$T/agent-state" "$T/tsdb"
AP=$(free_port)
"$AGENT" --listen "127.0.0.1:$AP" --token-file "$T/token" --state-dir "$T/agent-state" \
	2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_port "$AP" || fail "faultline-agent did not start: $(tail -2 "$T/agent.log")"

PP=$(free_port)
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: faultline-agent
    authorization:
      type: Bearer
      credentials_file: $T/token
    static_configs:
      - targets: ["127.0.0.1:$AP"]
YML
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address="127.0.0.1:$PP" >"$T/prometheus.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PP" 30 || skip "prometheus did not start: $(tail -2 "$T/prometheus.log")"
# Until the first scrape is in: up{job="faultline-agent"} == 1.
i=0
until curl -fsS "http://127.0.0.1:$PP/api/v1/query?query=up" 2>/dev/null | grep -q '"value":\[[0-9.]*,"1"\]'; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "prometheus never scraped the agent: $(tail -3 "$T/prometheus.log")"
	sleep 0.2
done

sleep 60 &
VICTIM=$!
echo $VICTIM >"$T/victim.pid"
PIDS="$PIDS $VICTIM"

PROMETHEUS_URL="http://127.0.0.1:$PP" AGENT_ADDRESS="127.0.0.1:$AP" VICTIM_PIDFILE="$T/victim.pid" \
	FAULTLINE_TOKEN_FILE="$T/token" run_fl run --journal journal.json "$EXP"
summary "$T/journal.json"
expect_rc 0
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'[p["output"] for p in j["steady_states"]["before"]["probes"]] == [1, 0]' \
	'j["steady_states"]["after"]["probes"][0]["output"] >= 1' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is True' \
	'len(j["steady_states"]["after"]["probes"]) == 1'
grep -q '^State:[[:space:]]*T' "/proc/$VICTIM/status" && fail "the victim is still stopped"
echo "PASS: prometheus saw the pause counter move"
