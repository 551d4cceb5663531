#!/bin/sh
# The run as Prometheus metrics: `faultline run --metrics-listen ADDR` serves
# /metrics for the run's duration, and a real prometheus (Debian package,
# installed by this harness when missing) scrapes it every 400 ms. Read back
# through Prometheus's HTTP query API after the run: the phases it went
# through, one fault live while the pause lasted and none at the end, the
# probe's samples, success ratio and latency histogram, and the exit code.
# A port that is taken is a warning (same verdict, exit 0); an address that
# is not one exits 2 before anything runs.
. "$(dirname "$0")/lib.sh"

need_pkg prometheus prometheus
start_httpd
sleep 60 &
victim=$!
PIDS="$PIDS $victim"
MP=$(free_port)
PP=$(free_port)
mkdir -p "$T/tsdb"
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 400ms
  scrape_timeout: 400ms
scrape_configs:
  - job_name: faultline-run
    static_configs:
      - targets: ["127.0.0.1:$MP"]
YML
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address="127.0.0.1:$PP" >"$T/prometheus.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PP" 30 || skip "prometheus did not start: $(tail -2 "$T/prometheus.log")"
# Until prometheus scrapes the (not yet listening) target: up{job="faultline-run"} exists.
i=0
until curl -fsS "http://127.0.0.1:$PP/api/v1/query?query=up%7Bjob%3D%22faultline-run%22%7D" 2>/dev/null |
	grep -q '"value":\['; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "prometheus never tried the target: $(tail -3 "$T/prometheus.log")"
	sleep 0.2
done

cat >"$T/exp.json" <<JSON
{
  "title": "metrics of a run",
  "steady-state-hypothesis": {"title": "answers", "probes": [
    {"type": "probe", "name": "home answers", "mode": "during", "interval": "100ms",
     "tolerance": {"success_ratio": {"min": 0.9}},
     "provider": {"type": "http", "url": "$URL/json", "timeout": 1}}
  ]},
  "method": [
    {"type": "action", "name": "pause the sleeper",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim}, "duration": "2s"},
     "pauses": {"after": 3}}
  ]
}
JSON
run_fl run --metrics-listen "127.0.0.1:$MP" exp.json
expect_rc 0
grep -q "metrics of this run: http://127.0.0.1:$MP/metrics" "$T/out" || fail "the run does not say where its metrics are"
# Let the last scrapes land in the TSDB's head, then ask.
python3 - "http://127.0.0.1:$PP" "$T/journal.json" <<'PY' || fail "Prometheus did not see the run"
import json, sys, time, urllib.parse, urllib.request
base, j = sys.argv[1], json.load(open(sys.argv[2]))
def q(expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    r = json.load(urllib.request.urlopen(url, timeout=5))
    assert r["status"] == "success", r
    return [(s["metric"], float(s["value"][1])) for s in r["data"]["result"]]
def one(expr):
    v = q(expr)
    assert len(v) == 1, (expr, v)
    return v[0][1]
end = time.time() + 15
while True:
    try:
        assert one('max_over_time(faultline_run_phase{phase="done"}[5m])') == 1
        break
    except (AssertionError, IndexError):
        if time.time() > end:
            raise
        time.sleep(0.3)
checks = {
    'max_over_time(faultline_run_phase{phase="before"}[5m]) == 0': None,  # no edge probe: no "before" phase
    'max_over_time(faultline_run_phase{phase="method"}[5m])': 1,
    'max_over_time(faultline_faults_live[5m])': 1,
    'last_over_time(faultline_faults_live[5m])': 0,
    'max_over_time(faultline_faults_applied_total{kind="pause"}[5m])': 1,
    'last_over_time(faultline_run_exit_code[5m])': 0,
    'min_over_time(faultline_run_exit_code[5m])': -1,
    'max_over_time(faultline_probe_samples_total{probe="home answers",mode="during",result="ok"}[5m]) >= 20': None,
    'max_over_time(faultline_probe_success_ratio{probe="home answers"}[5m])': 1,
    'max_over_time(faultline_probe_latency_seconds_count{probe="home answers"}[5m]) >= 20': None,
    'max_over_time(faultline_probe_latency_seconds_bucket{probe="home answers",le="+Inf"}[5m]) >= 20': None,
    'max_over_time(faultline_probe_latency_quantile_seconds{probe="home answers",quantile="0.95"}[5m]) < 1': None,
}
for expr, want in checks.items():
    got = q(expr)
    if want is None:
        assert len(got) == 1 or (expr.endswith("== 0") and not got), (expr, got)
    else:
        assert len(got) == 1 and got[0][1] == want, (expr, got, want)
run = q('last_over_time(faultline_run_info[5m])')
assert run and run[0][0]["run_id"] == j["run_id"] and run[0][0]["experiment"] == "metrics of a run", run
# The fault was live while the pause lasted: about 2 s (20 steps of 100 ms,
# give or take a scrape interval at each edge).
live = one('count_over_time((faultline_faults_live == 1)[5m:100ms])')
assert 10 <= live <= 30, live
PY

# The endpoint is gone with the run.
python3 -c 'import socket, sys; s = socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) else 1)' "$MP" ||
	fail "the metrics endpoint outlived the run"

# A port that is taken: a warning, the run goes on with the same verdict.
python3 -c 'import socket, sys, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$MP" &
PIDS="$PIDS $!"
wait_port "$MP" || fail "could not take the port"
run_fl run --metrics-listen "127.0.0.1:$MP" exp.json
expect_rc 0
grep -q "warning: --metrics-listen 127.0.0.1:$MP: Address already in use" "$T/out" || fail "a taken port was not said"
grep -q "steady state HELD" "$T/out" || fail "a taken port changed the verdict"

# Not an address: exit 2, nothing run.
rm -f "$T/journal.json"
for bad in "127.0.0.1" "host.example:80" "127.0.0.1:99999" "[::1]" ":x"; do
	run_fl run --metrics-listen "$bad" exp.json
	expect_rc 2
	grep -qF -- "--metrics-listen '$bad': expected HOST:PORT" "$T/out" || fail "'$bad' is not named"
	[ ! -e "$T/journal.json" ] || fail "--metrics-listen '$bad' ran the experiment"
done
echo "PASS"
