#!/bin/sh
# Connection exhaustion: 600 connections from 127.0.0.2 that never finish
# their request (no token needed to connect) must not keep a controller on
# 127.0.0.1 from reaching the agent. Before the per-address connection limit,
# the agent's 512 slots filled up and the API went silent for the 30 s
# connection timeout, again and again.
#   tests/hardening/slowloris.sh [path/to/faultline-agent]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
agent=${1:-$top/build/agent/faultline-agent}
[ -x "$agent" ] || { echo "SKIPPED: no agent at $agent (build first)"; exit 77; }
dir=$(mktemp -d /tmp/fl-slowloris-XXXXXX)
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token")
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$agent" --listen "127.0.0.1:$port" --token-file "$dir/token" --state-dir "$dir/state" 2>"$dir/log" &
pid=$!
python3 - "$port" <<'PY'
import http.client, socket, sys, time
port = int(sys.argv[1])
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port)).close()
        break
    except OSError:
        time.sleep(0.05)
socks = []
for i in range(600):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.send(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # never finished
        socks.append(s)
    except OSError:
        break
time.sleep(0.5)
t = time.time()
try:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/v1/health")
    st = c.getresponse().status
except Exception as e:
    st = repr(e)
print("health from 127.0.0.1 with %d idle connections from 127.0.0.2: %s in %.2f s" % (len(socks), st, time.time() - t))
sys.exit(0 if st == 200 else 1)
PY
rc=$?
kill "$pid"
wait "$pid"
rm -rf "$dir"
[ $rc -eq 0 ] && echo PASS || echo FAIL
exit $rc
