#!/bin/sh
# How EXPECTED was obtained: run every experiment of the corpus (JSON and YAML
# twin) with the real `chaos run`, built from chaostoolkit and chaostoolkit-lib
# sources on Debian's python3 (python3-requests, -yaml, -click, -click-plugins,
# -charset-normalizer, -pythonjsonlogger, -importlib-metadata), against the
# same server.py and setup.sh the test uses, and print one EXPECTED line each:
#   name  format  status  deviated  chaos-exit  rollbacks-run  method-runs
# Not run by the test suite (chaoslib is no dependency of faultline):
#   CHAOS=/path/to/chaos tests/integration/ctk/record-chaoslib.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CHAOS=${CHAOS:?CHAOS must name a chaos executable}
T=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
python3 "$here/server.py" --port-file "$T/port" &
srv=$!
while [ ! -s "$T/port" ]; do sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/port")"
for f in "$here"/experiments/*.json "$here"/experiments/*.yaml; do
	name=$(basename "$f")
	d="$T/run-$name"
	mkdir "$d"
	sh "$here/setup.sh" "${name%.*}" "$d"
	set +e
	(cd "$d" && PATH="$d/bin:$PATH" FRONT_URL="$URL" STORAGE_URL="$URL/exists?path=$d/STORAGE.up" \
		RETRIEVAL_URL="$URL/exists?path=$d/RETRIEVAL.up" "$CHAOS" run --journal-path "$d/journal.json" \
		--var "base_url=$URL" --var "prometheus_url=$URL" "$f") >"$d/out" 2>&1
	rc=$?
	set -e
	python3 - "$d/journal.json" "${name%.*}" "${name##*.}" "$rc" <<'PY'
import json, os, sys
path, name, fmt, rc = sys.argv[1:]
if not os.path.exists(path):
    print("\t".join([name, fmt, "invalid", "-", rc, "-", "-"]))
    sys.exit(0)
j = json.load(open(path))
print("\t".join([name, fmt, j["status"], str(j["deviated"]).lower(), rc,
                 str(len(j.get("rollbacks") or [])), str(len(j.get("run") or []))]))
PY
done
