#!/bin/sh
# The quick start's report, as a new user opens it: scripts/quickstart.sh
# writes build/quickstart-report.html; the same run here (a real pause
# through the embedded local agent, a probe sampling the demo service) gives
# a page that headless Chromium loads with no console error and no script,
# with JavaScript on and off, and whose DOM shows the verdict, every
# activity on the timeline, the fault's live window (1.5 s, its lease) and
# the probe's tolerance lines (95% success, p99 2.5 s). Screenshot taken.
. "$(dirname "$0")/lib.sh"

need_pkg chromium chromium
grep -q -- '--report "$top/build/quickstart-report.html"' "$SRC/scripts/quickstart.sh" ||
	fail "scripts/quickstart.sh does not write build/quickstart-report.html"

port=$(free_port)
set +e
(cd "$SRC" && TMPDIR="$T" FAULTLINE_QUICKSTART_PORT=$port \
	"$FL" run --journal "$T/journal.json" --report "$T/report.html" \
	experiments/examples/quickstart.json) >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0
grep -q "report:  $T/report.html" "$T/out" || fail "the run does not say where the report is"
records=$(python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(sum(len(x) for x in (j["steady_states"]["before"]["probes"], j["run"], j["steady_states"]["after"]["probes"], j["rollbacks"])))' "$T/journal.json")

for js in on off; do
	flag=""
	[ $js = on ] || flag=--no-js
	chromium_check "$T/report.html" "$T/dom-$js.json" --screenshot "$T/shot-$js.png" $flag
	facts "$T/dom-$js.json" \
		'e == []' \
		'r["screenshot"]["width"] == 1280 and r["screenshot"]["height"] > 1500' \
		'open(sys.argv[1].replace("dom-", "shot-").replace(".json", ".png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"' \
		'f["scripts"] == 0' \
		'f["verdict"] == "Result: steady state HELD" and "held" in f["verdictClass"].split()' \
		'f["h1"] == "The demo service comes back after being paused under a burst of requests"' \
		"f['activities'] == $records" \
		'len(f["faultWindows"]) == 1' \
		'1.3 <= f["faultWindows"][0][1] - f["faultWindows"][0][0] <= 1.7' \
		'sorted(f["sloLines"]) == [0.95, 2500]' \
		'f["failingWindows"] == []' \
		'f["windows"] == ["window ok"]' \
		'f["probeCharts"] == 2' \
		'"health-answers-while-paused" in f["text"] and "kill -STOP" in f["text"]'
done
# The screenshot shows something: a PNG of the page's size, not a blank one.
python3 - "$T/shot-on.png" <<'PY' || fail "the screenshot is blank"
import sys, zlib, struct
d = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", d[16:24])
assert w == 1280 and h > 1500, (w, h)
assert len(d) > 50000, len(d)
PY
echo "PASS"
