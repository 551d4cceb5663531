#!/bin/sh
# --var (KEY=VALUE, or KEY:TYPE=VALUE as in Chaos Toolkit) and --var-file
# override configuration and reach ${name} everywhere;
# a bad --var or --var-file is a usage error (exit 2) and runs nothing.
. "$(dirname "$0")/lib.sh"

cat >"$T/exp.json" <<JSON
{
  "title": "vars \${who}",
  "configuration": {"who": "configured", "out": "$T/out.txt", "code": 0},
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "exit code", "tolerance": 0,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "exit \${code}"]}}
  ]},
  "method": [
    {"type": "action", "name": "write",
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "printf %s \"\${who}\" > \${out}"]}}
  ]
}
JSON

run_fl run exp.json
expect_rc 0
[ "$(cat "$T/out.txt")" = configured ] || fail "configuration value not used"

run_fl run --var who=from-cli exp.json
expect_rc 0
[ "$(cat "$T/out.txt")" = from-cli ] || fail "--var not applied: $(cat "$T/out.txt")"
jassert "$T/journal.json" 'j["experiment"]["title"] == "vars from-cli"'

printf '{"who": "from-file", "code": 0}\n' >"$T/vars.json"
run_fl run --var-file vars.json exp.json
expect_rc 0
[ "$(cat "$T/out.txt")" = from-file ] || fail "--var-file not applied: $(cat "$T/out.txt")"

# A variable can change the verdict: the probe then exits 3, not 0.
run_fl run --var code=3 exp.json
expect_rc 1
jassert "$T/journal.json" 'j["steady_states"]["before"]["probes"][0]["output"]["status"] == 3'

# Chaos Toolkit's typed form, KEY:TYPE=VALUE.
run_fl run --var code:int=3 exp.json
expect_rc 1
jassert "$T/journal.json" 'j["steady_states"]["before"]["probes"][0]["output"]["status"] == 3'

rm -f "$T/out.txt"
run_fl run --var code:int=three exp.json
expect_rc 2
expect_out "code: value is not an integer"
run_fl run --var code:date=3 exp.json
expect_rc 2
expect_out "unknown type"
run_fl run --var novalue exp.json
expect_rc 2
expect_out "novalue"
run_fl run --var-file missing.json exp.json
expect_rc 2
expect_out "missing.json"
printf '[1, 2]\n' >"$T/bad.json"
run_fl run --var-file bad.json exp.json
expect_rc 2
[ ! -e "$T/out.txt" ] || fail "a usage error still ran the experiment"
echo "PASS"
