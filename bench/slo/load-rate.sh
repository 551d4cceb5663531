#!/bin/sh
# bench/slo: does the `load` probe hold its rate, and what does it cost?
# Runs a once-judged load probe for 5 s at each rate against nginx serving a
# static file on loopback and prints: requested vs measured samples, failures,
# latency percentiles, and the controller's CPU time. Run by hand after a build:
#   sh bench/slo/load-rate.sh [RATE...]        (default: 200 1000 3000)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
FL=${FL_BIN:-$top/build/controller/faultline}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "SKIPPED: nginx is not installed"; exit 77; }
T=$(mktemp -d /tmp/fl-bench-slo.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/www" "$T/ng"
echo hi >"$T/www/index.html"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/nginx.conf" <<CONF
worker_processes 2;
pid $T/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$PORT; root $T/www; } }
CONF
"$NGINX" -p "$T/ng" -c "$T/nginx.conf" -g "daemon off;" &
NPID=$!
trap 'kill $NPID 2>/dev/null; wait $NPID 2>/dev/null; rm -rf "$T"' EXIT
sleep 0.5
printf '%8s %9s %9s %7s %9s %9s %9s %10s\n' rate expected samples failed p50_ms p95_ms p99_ms cpu_s
for rate in ${*:-200 1000 3000}; do
	cat >"$T/b.json" <<JSON
{"title": "bench", "steady-state-hypothesis": {"title": "h", "probes": [
 {"type": "probe", "name": "load", "mode": "before", "tolerance": {"success_ratio": {"min": 0}},
  "provider": {"type": "load", "url": "http://127.0.0.1:$PORT/", "rate": $rate, "duration": "5s", "concurrency": 256}}]},
 "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}]}
JSON
	/usr/bin/time -f "%U %S" -o "$T/time" "$FL" run --journal "$T/j.json" "$T/b.json" >/dev/null || true
	python3 - "$T/j.json" "$rate" "$(cat "$T/time")" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["steady_states"]["before"]["probes"][0]["output"]
u, s = map(float, sys.argv[3].split())
l = o["latency_ms"]
print("%8s %9d %9d %7d %9.3f %9.3f %9.3f %10.2f" % (sys.argv[2], int(float(sys.argv[2]) * 5),
      o["samples"], o["failed"], l["p50"], l["p95"], l["p99"], u + s))
PY
done
