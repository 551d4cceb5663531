#!/bin/sh
# The README's quick-start experiment runs from the top of the tree, injects a
# real fault through the embedded local agent (its journal shows the demo
# service's process paused), ends with "steady state HELD" (exit 0), and leaves
# nothing behind: its demo service is stopped and its state removed by the
# rollback.
. "$(dirname "$0")/lib.sh"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
set +e
(cd "$SRC" && TMPDIR="$T" FAULTLINE_QUICKSTART_PORT=$port \
	"$FL" run --journal "$T/journal.json" --junit "$T/junit.xml" experiments/examples/quickstart.json) \
	>"$T/out" 2>&1
RC=$?
set -e
expect_rc 0
expect_out "steady state HELD"
jassert "$T/journal.json" 'j["status"] == "completed"' 'j["deviated"] is False' \
	'all(r["status"] == "succeeded" for r in j["run"] + j["rollbacks"])'
# The fault was real: the embedded local agent stopped the demo service's own
# process (the PID its start-up probe reported) and answered 201 once it was.
jassert "$T/journal.json" \
	'[r["activity"]["name"] for r in j["run"]].count("pause-the-demo-service") == 1' \
	'[r for r in j["run"] if r["activity"]["name"] == "pause-the-demo-service"][0]["output"]["agents"][0]["agent"] == "local"' \
	'[r for r in j["run"] if r["activity"]["name"] == "pause-the-demo-service"][0]["output"]["agents"][0]["status"] == 201' \
	'[r for r in j["run"] if r["activity"]["name"] == "pause-the-demo-service"][0]["output"]["agents"][0]["applied"]["description"].startswith("kill -STOP")' \
	'[t["pid"] for t in [r for r in j["run"] if r["activity"]["name"] == "pause-the-demo-service"][0]["output"]["agents"][0]["applied"]["details"]["targets"]] == [int(j["steady_states"]["before"]["probes"][0]["output"]["stdout"].split("pid ")[1])]'
junit_check "$T/junit.xml" 'r.get("tests") == "12" and r.get("failures") == "0" and r.get("errors") == "0"' \
	'cases[-1].get("name") == "experiment run" and len(list(cases[-1])) == 0'
[ ! -e "$T/faultline-quickstart-$(id -u)" ] || fail "the demo service's state was left behind"
if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
	"http://127.0.0.1:$port/health.json" 2>/dev/null; then
	fail "the demo service still answers after the run"
fi
echo "PASS"
