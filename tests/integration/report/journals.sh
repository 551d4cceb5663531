#!/bin/sh
# `faultline report` on journals it did not just write: a journal of
# faultline 0.1.0 (before the report's "series" and "fault_reverts" keys),
# a Chaos Toolkit journal (timestamps without a zone), `{}`, one with every
# key of the wrong type, and one full of hostile strings (markup, invalid
# UTF-8, control characters). Each renders (exit 0) as HTML and markdown;
# in headless Chromium no page has a console error or a script, and the
# hostile strings are text: a title "<script>..." is the page's title and
# heading as written. Several journals make one comparison page, oldest run
# first. Usage errors exit 2 and name the file or the option.
. "$(dirname "$0")/lib.sh"

need_pkg chromium chromium
J="$HERE/journals"

# The checker can fail: a page with a console error, an uncaught exception and
# a blocked load is reported as such (so "no console error" below means it).
cat >"$T/control.html" <<'HTML'
<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'"></head>
<body><script>console.error("control"); throw new Error("control")</script><img src="http://127.0.0.1:9/x.png"></body></html>
HTML

# The hostile journal: markup in every string a page shows, raw bytes that are not UTF-8.
python3 - "$T/hostile.json" <<'PY'
import json, sys
evil = '<script>alert(1)</script>'
j = {
    "experiment": {"title": evil, "description": '</style><img src=x onerror=alert(2)>\u0001\u001b[31m',
                   "tags": ['"><svg onload=alert(3)>'],
                   "steady-state-hypothesis": {"title": "<b>h</b>", "probes": []},
                   "method": [{"type": "action", "name": "</title><script>alert(4)</script>"}]},
    "start": "2026-01-02T03:04:05Z", "end": "2026-01-02T03:04:09Z", "duration": 4,
    "status": "failed", "deviated": True, "reason": '"><iframe src="javascript:alert(5)">',
    "node": "<marquee>", "run_id": "--><!--",
    "steady_states": {"before": None, "after": None, "during": [
        {"name": "</svg><script>alert(6)</script>", "mode": "during", "start": "2026-01-02T03:04:05.5Z",
         "end": "2026-01-02T03:04:08Z", "status": "succeeded", "tolerance_met": False,
         "tolerance_detail": "<img src=x onerror=alert(7)>",
         "output": {"samples": 2, "failed": 1, "success_ratio": 0.5, "latency_ms": {"p50": 1, "p95": 2, "p99": 2},
                    "last_failure": "</pre><script>alert(8)</script>"},
         "series": {"bucket": 1, "tolerance": {"success_ratio": 0.9},
                    "buckets": [{"t": 0, "samples": 2, "failed": 1, "success_ratio": 0.5,
                                 "latency_ms": {"p50": 1, "p95": 2, "p99": 2}, "ok": False}]}}]},
    "run": [{"activity": {"type": "action", "name": "</title><script>alert(4)</script>",
                          "provider": {"type": "fault", "kind": "<k>", "target": {"<t>": "</code>"}}},
             "status": "succeeded", "start": "2026-01-02T03:04:06Z", "end": "2026-01-02T03:04:06.1Z",
             "output": {"fault_id": "<id>", "kind": "<k>", "duration_ms": 1000, "agents": [
                 {"agent": "<script>alert(9)</script>", "status": 201,
                  "applied": {"description": "<script>alert(10)</script>", "applied_at": "2026-01-02T03:04:06Z",
                              "expires_at": "2026-01-02T03:04:07Z",
                              "effect": {"<th>": "</td></tr></table><script>alert(11)</script>", "n": 3}}}]},
             "exception": ["</details><script>alert(12)</script>"]}],
    "rollbacks": [],
}
raw = json.dumps(j).encode()
# Bytes that are not UTF-8 (cJSON keeps them), in the title and an output.
raw = raw.replace(b"<b>h</b>", b"<b>h\xff\xfe\xc3(</b>")
open(sys.argv[1], "wb").write(raw)
PY

for f in "$J/faultline-0.1.0.json" "$J/ctk.json" "$J/minimal.json" "$J/types.json" "$T/hostile.json"; do
	name=$(basename "$f" .json)
	run_fl report "$f" -o "$name.html"
	expect_rc 0
	run_fl report --format markdown "$f"
	expect_rc 0
	cp "$T/out" "$T/$name.md"
done
# A comparison page (a CI history): oldest run first, whatever the order given.
run_fl report "$J/faultline-0.1.0.json" "$J/minimal.json" "$J/ctk.json" -o history.html
expect_rc 0

# All the pages in one browser.
chromium_pages "$T/{}.dom.json" "$T/control.html" "$T/faultline-0.1.0.html" "$T/ctk.html" \
	"$T/minimal.html" "$T/types.html" "$T/hostile.html" "$T/history.html"
python3 - "$T/control.dom.json" <<'PY' || fail "the Chromium checker missed a console error, an exception or a blocked load"
import json, sys
e = json.load(open(sys.argv[1]))["errors"]
assert any("console.error: control" in x for x in e), e
assert any(x.startswith("exception: Error: control") for x in e), e
assert any("x.png" in x for x in e), e
PY
for name in faultline-0.1.0 ctk minimal types hostile; do
	facts "$T/$name.dom.json" 'e == []' 'f["scripts"] == 0' 'f["verdict"].startswith("Result: ")'
done

# What each one shows.
facts "$T/faultline-0.1.0.dom.json" \
	'"DEVIATED" in f["verdict"]' 'len(f["faultWindows"]) == 1' 'f["sloLines"] == [0.99]' \
	'len(set(map(tuple, f["failingWindows"]))) == 1' 'f["probeCharts"] == 2' 'f["windows"] == ["window notmet"]'
facts "$T/ctk.dom.json" \
	'f["verdict"] == "Result: steady state HELD"' 'f["activities"] == 3' \
	'"Chaos Toolkit 1.42.1" in f["text"]' '"2024-03-01T10:00:00.123Z" in f["text"]'
facts "$T/minimal.dom.json" 'f["verdict"].startswith("Result: UNKNOWN")' 'f["activities"] == 0'
facts "$T/hostile.dom.json" \
	'f["title"].startswith("faultline: <script>alert(1)</script>: ")' \
	'f["h1"] == "<script>alert(1)</script>"' \
	'"</title><script>alert(4)</script>" in f["text"]' \
	'"<script>alert(10)</script>" in f["text"]' '"</td></tr></table><script>alert(11)</script>" in f["text"]' \
	'"<b>h\ufffd\ufffd\ufffd(</b>" in f["text"]'
# Nothing in the hostile page is markup it did not write itself.
python3 - "$T/hostile.html" <<'PY' || fail "the hostile journal's strings became markup"
import html.parser, sys
# The elements and attributes the report writes; anything else came from the journal.
TAGS = set("html head meta title style body main footer h1 h2 h3 div small dl dt dd section p span i "
           "b br code pre ul li a table thead tbody tr th td details summary svg g rect line path "
           "circle text tspan".split())
class P(html.parser.HTMLParser):
    bad = []
    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.bad.append(tag)
        for k, v in attrs:
            if k.startswith("on") or "javascript:" in (v or ""):
                self.bad.append("%s[%s]" % (tag, k))
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
if p.bad:
    print("markup from the journal:", p.bad, file=sys.stderr)
    sys.exit(1)
PY
grep -q '<script' "$T/hostile.md" && fail "markdown has a raw <script"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/hostile.md" || fail "the markdown lost the hostile title"

facts "$T/history.dom.json" 'e == []' 'f["scripts"] == 0' \
	'f["h1"] == "faultline: 3 runs compared"' 'f["verdict"].startswith("1 of 3 held")' \
	'f["text"].index("Chaos Toolkit: the orders service") < f["text"].index("The test server answers while it is paused")' \
	'f["timeline"] == 2'
grep -q 'id="r3-run"' "$T/history.html" || fail "no section for the third run"
run_fl report "$J/faultline-0.1.0.json" "$J/ctk.json" --format markdown
expect_rc 0
grep -q "1 of 2 runs held" "$T/out" || fail "the markdown history has no summary"

# Standard input.
set +e
"$FL" report - <"$J/ctk.json" >"$T/stdin.html" 2>"$T/out"
RC=$?
set -e
expect_rc 0
grep -q "steady state HELD" "$T/stdin.html" || fail "report - did not read standard input"

# Usage errors: exit 2, the file or option named, nothing written.
printf '{"a": 1' >"$T/cut.json"
printf '[1, 2]' >"$T/array.json"
run_fl report "$T/nope.json" -o x.html
expect_rc 2
grep -q "nope.json: No such file" "$T/out" || fail "a missing journal is not named"
run_fl report "$T/cut.json" -o x.html
expect_rc 2
grep -q "cut.json: not JSON" "$T/out" || fail "a cut journal is not said"
run_fl report "$T/array.json" -o x.html
expect_rc 2
grep -q "not a journal" "$T/out" || fail "a JSON array is taken for a journal"
run_fl report -o x.html
expect_rc 2
run_fl report --format pdf "$J/ctk.json"
expect_rc 2
grep -q -- "--format 'pdf'" "$T/out" || fail "a bad --format is not named"
run_fl report --bogus "$J/ctk.json"
expect_rc 2
run_fl report "$J/ctk.json" -o "$T/no/such/dir/x.html"
expect_rc 2
[ ! -e "$T/x.html" ] || fail "a failed report left a file"
echo "PASS"
