#!/bin/sh
# A run whose steady state holds: exit 0, journal in Chaos Toolkit's shape,
# JUnit valid, every phase ran in order, background + ref + pauses honoured.
. "$(dirname "$0")/lib.sh"
start_httpd

cat >"$T/exp.json" <<JSON
{
  "title": "held <&> \"quoted\"",
  "configuration": {"base": "$URL", "mark": "$T/marks"},
  "steady-state-hypothesis": {
    "title": "service answers",
    "probes": [
      {"type": "probe", "name": "json says ok",
       "tolerance": {"type": "jsonpath", "path": "\$.ok", "expect": true, "target": "body"},
       "provider": {"type": "http", "url": "\${base}/json", "timeout": 5}},
      {"type": "probe", "name": "status in range",
       "tolerance": {"type": "range", "range": [200, 299], "target": "status"},
       "provider": {"type": "http", "url": "\${base}/status/204"}},
      {"type": "probe", "name": "process exits 0", "tolerance": 0,
       "provider": {"type": "process", "path": "sh", "arguments": ["-c", "exit 0"]}}
    ]
  },
  "method": [
    {"type": "action", "name": "background sleeper", "background": true,
     "provider": {"type": "process", "path": "sh",
                  "arguments": ["-c", "sleep 1; echo bg >> \${mark}"]}},
    {"type": "action", "name": "first", "pauses": {"after": 0.5},
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo first >> \${mark}; date +%s%N > \${mark}.t1"]}},
    {"type": "action", "name": "second",
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo second >> \${mark}; date +%s%N > \${mark}.t2"]}},
    {"ref": "status in range"}
  ],
  "rollbacks": [
    {"type": "action", "name": "roll back",
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo rollback >> \${mark}"]}}
  ]
}
JSON

run_fl run --junit "$T/junit.xml" --journal "$T/journal.json" exp.json
expect_rc 0
expect_out "steady state HELD"

# Order: foreground actions, the background one finished before the after-hypothesis, rollback last.
[ "$(tr '\n' ' ' <"$T/marks")" = "first second bg rollback " ] ||
	fail "unexpected order: $(tr '\n' ' ' <"$T/marks")"
# The pause after "first" is at least 500 ms.
d=$(( ($(cat "$T/marks.t2") - $(cat "$T/marks.t1")) / 1000000 ))
[ "$d" -ge 480 ] || fail "pause after was only ${d} ms"

jassert "$T/journal.json" \
	'j["status"] == "completed"' \
	'j["deviated"] is False' \
	'j["experiment"]["title"].startswith("held")' \
	'j["experiment"]["configuration"]["base"].startswith("http://127.0.0.1:")' \
	'all(k in j for k in ("start", "end", "duration", "steady_states", "run", "rollbacks"))' \
	'j["steady_states"]["before"]["steady_state_met"] is True' \
	'j["steady_states"]["after"]["steady_state_met"] is True' \
	'len(j["steady_states"]["before"]["probes"]) == 3' \
	'all(p["tolerance_met"] for p in j["steady_states"]["after"]["probes"])' \
	'j["steady_states"]["before"]["probes"][0]["output"]["body"]["ok"] is True' \
	'j["steady_states"]["before"]["probes"][1]["output"]["status"] == 204' \
	'j["steady_states"]["before"]["probes"][2]["output"] == {"status": 0, "stdout": "", "stderr": ""}' \
	'[r["activity"]["name"] for r in j["run"]] == ["background sleeper", "first", "second", "status in range"]' \
	'all(r["status"] == "succeeded" for r in j["run"])' \
	'all(k in r for r in j["run"] for k in ("start", "end", "duration", "output", "activity"))' \
	'j["run"][0]["duration"] >= 0.9' \
	'j["rollbacks"][0]["activity"]["name"] == "roll back"' \
	'j["rollbacks"][0]["status"] == "succeeded"'

junit_check "$T/junit.xml" \
	'r.get("tests") == "12" and r.get("failures") == "0" and r.get("errors") == "0"' \
	'[c.get("classname") for c in cases] == ["steady-state-before"] * 3 + ["method"] * 4 + ["steady-state-after"] * 3 + ["rollbacks", "experiment"]' \
	'[c.get("name") for c in cases][3:7] == ["background sleeper", "first", "second", "status in range"]' \
	'all(len(list(c)) == 0 for c in cases)' \
	'[c.get("name") for c in cases][:3] == ["json says ok", "status in range", "process exits 0"]' \
	'r.find("testsuite").get("name").startswith("held <&> \"quoted\"")'
echo "PASS"
