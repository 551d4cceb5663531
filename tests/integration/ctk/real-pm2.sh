#!/bin/bash
# The two published quotes experiments with the real pm2 (npm's, not a Debian
# package, so not run by the test suite) in place of setup.sh's stand-in: two
# node services under pm2, the experiment's own `pm2 stop` / `pm2 restart`,
# then the same verdict from `chaos run` and `faultline run`, JSON and YAML.
# A service pm2 has stopped refuses connections (the stand-in's answers 503),
# so the http probe raises: chaoslib ends "failed", deviated, and its default
# strategy runs no rollback. Prints one line per run:
#   tool file status deviated met-before rollbacks method-runs exit
#   CHAOS=/path/to/chaos FL_BIN=build/controller/faultline \
#     tests/integration/ctk/real-pm2.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CHAOS=${CHAOS:?CHAOS must name a chaos executable}
FL=${FL_BIN:?FL_BIN must name the faultline binary}
command -v pm2 >/dev/null && command -v node >/dev/null || {
	echo "SKIPPED: needs pm2 (npm install -g pm2) and node"
	exit 77
}
T=$(mktemp -d)
export PM2_HOME="$T/pm2"
trap 'pm2 kill >/dev/null 2>&1; rm -rf "$T"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
S=$(free_port) R=$(free_port)
for n in storage:$S retrieval:$R; do
	printf "require('http').createServer((q, r) => r.end('%s ok')).listen(%s, '127.0.0.1');\n" \
		"${n%%:*}" "${n##*:}" >"$T/${n%%:*}.js"
done
cd "$T"
for name in quotes-unresponsive-storage quotes-process-kill; do
	for fmt in json yaml; do
		for tool in chaos faultline; do
			pm2 delete all >/dev/null 2>&1 || true
			pm2 start storage.js --name STORAGE >/dev/null
			pm2 start retrieval.js --name RETRIEVAL >/dev/null
			for _ in $(seq 100); do
				curl -sf "http://127.0.0.1:$S/" >/dev/null && curl -sf "http://127.0.0.1:$R/" >/dev/null && break
				sleep 0.1
			done
			# quotes-process-kill sends SIGHUP to the pid in STORAGE.pid: pm2's storage process
			pm2 pid STORAGE >STORAGE.pid
			rm -f j.json
			set +e
			if [ "$tool" = chaos ]; then
				STORAGE_URL="http://127.0.0.1:$S/" RETRIEVAL_URL="http://127.0.0.1:$R/" \
					"$CHAOS" run --journal-path j.json "$here/experiments/$name.$fmt" >"out-$tool" 2>&1
			else
				STORAGE_URL="http://127.0.0.1:$S/" RETRIEVAL_URL="http://127.0.0.1:$R/" \
					"$FL" run --journal j.json --rollback-strategy default \
					"$here/experiments/$name.$fmt" >"out-$tool" 2>&1
			fi
			rc=$?
			set -e
			python3 - j.json "$tool" "$name.$fmt" "$rc" <<'PY'
import json, sys
path, tool, f, rc = sys.argv[1:]
j = json.load(open(path))
b = (j.get("steady_states") or {}).get("before") or {}
print("\t".join([tool, f, j["status"], str(j["deviated"]).lower(),
                 str(b.get("steady_state_met")).lower(), str(len(j.get("rollbacks") or [])),
                 str(len(j.get("run") or [])), rc]))
PY
		done
	done
done
