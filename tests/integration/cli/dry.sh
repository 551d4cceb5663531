#!/bin/sh
# --dry prints the plan and runs nothing: no marker file, no journal.
. "$(dirname "$0")/lib.sh"

cat >"$T/exp.json" <<JSON
{
  "title": "dry",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "probe-marker", "tolerance": 0,
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/marker.probe"]}}
  ]},
  "method": [
    {"type": "action", "name": "method-marker", "pauses": {"before": 30},
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/marker.method"]}},
    {"type": "action", "name": "http-action",
     "provider": {"type": "http", "method": "POST", "url": "http://127.0.0.1:1/never"}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rollback-marker",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/marker.rollback"]}}
  ]
}
JSON

run_fl run --dry --junit junit.xml exp.json
expect_rc 0
for n in probe-marker method-marker http-action rollback-marker "POST http://127.0.0.1:1/never" "pause before 30s"; do
	expect_out "$n"
done
ls "$T"/marker.* >/dev/null 2>&1 && fail "--dry ran something: $(ls "$T"/marker.*)"
[ ! -e "$T/journal.json" ] || fail "--dry wrote a journal"
[ ! -e "$T/junit.xml" ] || fail "--dry wrote a JUnit report"
echo "PASS"
