#!/bin/sh
# The method breaks the service: the hypothesis after deviates -> exit 1,
# status failed, deviated true, JUnit failure carrying the observed value,
# and the rollback (strategy always, the default) repairs the service.
. "$(dirname "$0")/lib.sh"
start_httpd

cat >"$T/exp.json" <<JSON
{
  "title": "deviates",
  "configuration": {"base": "$URL"},
  "steady-state-hypothesis": {
    "title": "the broken flag is off",
    "probes": [
      {"type": "probe", "name": "service <up> & \"healthy\"", "tolerance": 503,
       "provider": {"type": "http", "url": "\${base}/flag/broken"}},
      {"type": "probe", "name": "never reached after", "tolerance": 0,
       "provider": {"type": "process", "path": "true"}}
    ]
  },
  "method": [
    {"type": "action", "name": "break it",
     "provider": {"type": "http", "method": "POST", "url": "\${base}/flag/broken"}}
  ],
  "rollbacks": [
    {"type": "action", "name": "repair it",
     "provider": {"type": "http", "method": "DELETE", "url": "\${base}/flag/broken"}}
  ]
}
JSON

run_fl run --junit junit.xml exp.json
expect_rc 1
expect_out "DEVIATED"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["exit_code"] == 1' \
	'j["deviated"] is True' \
	'j["steady_states"]["before"]["steady_state_met"] is True' \
	'j["steady_states"]["after"]["steady_state_met"] is False' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is False' \
	'j["steady_states"]["after"]["probes"][0]["output"]["status"] == 200' \
	'len(j["steady_states"]["after"]["probes"]) == 1' \
	'j["rollbacks"][0]["status"] == "succeeded"'
# The rollback really ran against the service.
python3 -c "import urllib.request,sys
try: urllib.request.urlopen(sys.argv[1]); sys.exit(1)
except urllib.error.HTTPError as e: sys.exit(0 if e.code == 503 else 1)" "$URL/flag/broken" ||
	fail "the rollback did not repair the service"

junit_check "$T/junit.xml" \
	'r.get("tests") == "7" and r.get("failures") == "2" and r.find("testsuite").get("skipped") == "1"' \
	'[c.get("classname") for c in cases] == ["steady-state-before"] * 2 + ["method"] + ["steady-state-after"] * 2 + ["rollbacks", "experiment"]' \
	'cases[3].get("classname") == "steady-state-after" and cases[3].get("name") == "service <up> & \"healthy\""' \
	'"200" in cases[3].find("failure").text and "200" in cases[3].find("failure").get("message")' \
	'cases[4].find("skipped") is not None' \
	'cases[6].find("failure").get("type") == "Deviated"'

# --rollback-strategy default (Chaos Toolkit's): a deviated run is "completed"
# (chaoslib 1.45), so the rollbacks run.
python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$URL/flag/broken', method='DELETE'))" 2>/dev/null || true
run_fl run --rollback-strategy default exp.json
expect_rc 1
jassert "$T/journal.json" 'j["deviated"] is True' 'len(j["rollbacks"]) == 1'
# --rollback-strategy deviated: they run.
python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$URL/flag/broken', method='DELETE'))" 2>/dev/null || true
run_fl run --rollback-strategy deviated exp.json
expect_rc 1
jassert "$T/journal.json" 'len(j["rollbacks"]) == 1'
echo "PASS"
