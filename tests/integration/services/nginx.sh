#!/bin/sh
# nginx in front of two upstreams (python3 http.server): killing one upstream
# keeps "99% of requests succeed" (nginx retries on the live one); with a
# single upstream the same experiment deviates. Both verdicts and the load
# probe's sample counts are asserted.
. "$(dirname "$0")/lib.sh"

need_pkg nginx-light nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
EXP="$SRC/experiments/examples/nginx-upstream-kill.json"

mkdir -p "$T/www" "$T/nginx/logs"
echo "hello from the upstreams" >"$T/www/index.html"

# start_upstream NAME PORT: python3's http.server handler, PID in $T/upstream-NAME.pid.
start_upstream() {
	# http.server's handler with a listen backlog of 128 (socketserver's default of 5
	# overflows under a loaded CI machine and would look like an upstream failure).
	python3 -c '
import functools, http.server, sys
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 128
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
S(("127.0.0.1", int(sys.argv[1])), h).serve_forever()' "$2" "$T/www" >"$T/upstream-$1.log" 2>&1 &
	echo $! >"$T/upstream-$1.pid"
	PIDS="$PIDS $!"
	wait_port "$2" || skip "upstream $1 (python3 http.server) did not start"
}

# start_nginx PORT UPSTREAM_PORT...: nginx in the foreground (master PID kept).
start_nginx() {
	port=$1
	shift
	servers=""
	for u in "$@"; do
		servers="$servers server 127.0.0.1:$u max_fails=0;"
	done
	cat >"$T/nginx.conf" <<CONF
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    upstream backend { $servers }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://backend;
            proxy_connect_timeout 1s;
            proxy_read_timeout 2s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 2;
        }
    }
}
CONF
	"$NGINX" -p "$T/nginx" -c "$T/nginx.conf" -g "daemon off;" >"$T/nginx/stdout.log" 2>&1 &
	NGINX_PID=$!
	PIDS="$PIDS $NGINX_PID"
	wait_port "$port" || skip "nginx did not start: $(tail -2 "$T/nginx/error.log" 2>/dev/null)"
}

stop_nginx() {
	kill "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
}

# The load probe sent at its set rate (50/s) through the whole window, within 10%.
AT_RATE='abs(d("99% of requests succeed")["output"]["samples"] - 50 * d("99% of requests succeed")["duration"]) <= 5 * d("99% of requests succeed")["duration"]'

# 1. Two upstreams: the hypothesis holds.
A=$(free_port)
B=$(free_port)
N=$(free_port)
start_upstream a "$A"
start_upstream b "$B"
start_nginx "$N" "$A" "$B"
victim=$(cat "$T/upstream-a.pid")
NGINX_URL="http://127.0.0.1:$N/" VICTIM_PIDFILE="$T/upstream-a.pid" run_fl run --journal two.json "$EXP"
summary "$T/two.json"
expect_rc 0
jassert "$T/two.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'j["run"][0]["status"] == "succeeded"' \
	'd("99% of requests succeed")["output"]["samples"] >= 150' \
	"$AT_RATE" \
	'd("99% of requests succeed")["output"]["success_ratio"] >= 0.99' \
	'd("99% of requests succeed")["tolerance_met"] is True'
kill -0 "$victim" 2>/dev/null && fail "upstream a ($victim) was not killed"
stop_nginx

# 2. One upstream: the same experiment deviates.
A=$(free_port)
N=$(free_port)
start_upstream a "$A"
start_nginx "$N" "$A"
NGINX_URL="http://127.0.0.1:$N/" VICTIM_PIDFILE="$T/upstream-a.pid" run_fl run --journal one.json --junit one.xml "$EXP"
summary "$T/one.json"
expect_rc 1
jassert "$T/one.json" \
	'j["status"] == "completed" and j["deviated"] is True' \
	'd("99% of requests succeed")["output"]["samples"] >= 150' \
	'd("99% of requests succeed")["output"]["failed"] >= 50' \
	"$AT_RATE" \
	'd("99% of requests succeed")["tolerance_met"] is False' \
	'"success ratio" in j["reason"]'
# JUnit: valid for CI systems (Jenkins' junit-10.xsd format, tests/integration/cli/junit.xsd),
# and the load window is a failed steady-state-during case, named after the probe.
junit_valid "$T/one.xml"
python3 - "$T/one.xml" <<'PY' || fail "JUnit lacks the failed during case"
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
c = [c for c in r.iter("testcase") if c.get("classname") == "steady-state-during"]
assert len(c) == 1 and c[0].get("name") == "99% of requests succeed", c
f = c[0].find("failure")
assert f is not None and "success ratio" in f.get("message"), f
assert int(r.get("failures")) >= 1
PY
stop_nginx
echo "PASS: nginx held with two upstreams, deviated with one"
