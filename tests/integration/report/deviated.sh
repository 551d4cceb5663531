#!/bin/sh
# A deviated run's report shows where the SLO was crossed: an HTTP service
# (tests/integration/cli/httpd.py) is paused for 1.5 s through the embedded
# local agent while a probe asks it every 100 ms with a 300 ms timeout and
# wants 99% of the answers. The run deviates (exit 1); in headless Chromium
# the report says DEVIATED, draws the window out of tolerance in the probe's
# charts where the fault was live, the tolerance line at 99%, and has no
# console error. The markdown report (--format markdown, and -o *.md) says
# the same for a pull-request comment.
. "$(dirname "$0")/lib.sh"

need_pkg chromium chromium
start_httpd

cat >"$T/exp.json" <<JSON
{
  "title": "The test server answers while it is paused",
  "steady-state-hypothesis": {"title": "answers", "probes": [
    {"type": "probe", "name": "answers in 300 ms", "mode": "during", "interval": "100ms",
     "tolerance": {"success_ratio": {"min": 0.99}},
     "provider": {"type": "http", "url": "$URL/json", "timeout": 0.3}}
  ]},
  "method": [
    {"type": "action", "name": "let it answer", "provider": {"type": "process", "path": "sleep", "arguments": ["0.5"]}},
    {"type": "action", "name": "pause the server",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $HTTPD_PID}, "duration": "1500ms"},
     "pauses": {"after": 2.5}}
  ]
}
JSON
run_fl run --journal journal.json --report report.html exp.json
expect_rc 1
jassert "$T/journal.json" 'j["deviated"] is True' 'd("answers in 300 ms")["tolerance_met"] is False' \
	'any(b.get("ok") is False for b in d("answers in 300 ms")["series"]["buckets"])' \
	'all(b.get("ok") is not False for b in d("answers in 300 ms")["series"]["buckets"][:3])'

chromium_check "$T/report.html" "$T/dom.json" --screenshot "$T/shot.png"
facts "$T/dom.json" \
	'e == []' 'f["scripts"] == 0' \
	'f["verdict"].startswith("Result: steady state DEVIATED") and "deviated" in f["verdictClass"].split()' \
	'"steady state during the method not met" in f["verdict"]' \
	'len(f["faultWindows"]) == 1' \
	'f["sloLines"] == [0.99]' \
	'f["windows"] == ["window notmet"]' \
	'len(f["failingWindows"]) >= 1' \
	'all(fw[0] - 0.4 <= a and a <= f["faultWindows"][0][1] + 0.4 for (a, b) in f["failingWindows"] for fw in f["faultWindows"])'

# The same run for a pull-request comment.
run_fl report --format markdown journal.json
expect_rc 0
grep -q "DEVIATED" "$T/out" || fail "the markdown does not say DEVIATED"
grep -q "answers in 300 ms | during |" "$T/out" || fail "the markdown has no row for the sampled probe"
grep -q "NOT met" "$T/out" || fail "the markdown does not say the probe was not met"
grep -q "pause the server | local | +" "$T/out" || fail "the markdown has no fault row"
run_fl report journal.json -o comment.md
expect_rc 0
cmp -s "$T/comment.md" "$T/out" && fail "report -o comment.md wrote nothing"
grep -q "DEVIATED" "$T/comment.md" || fail "-o comment.md is not markdown"
head -c 15 "$T/comment.md" | grep -q "<!DOCTYPE" && fail "-o comment.md wrote HTML"
echo "PASS"
