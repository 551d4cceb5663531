#!/bin/sh
# Activities that fail (Chaos Toolkit's ActivityFailed): a program that cannot
# start, an HTTP call with an unexpected status, a refused connection, a
# fault activity without agent support. Each is recorded with its exception,
# the run goes on (as in Chaos Toolkit), the status stays "completed" (as
# chaoslib writes it), and faultline exits 1.
# A hypothesis probe whose provider fails is a JUnit <error>, and the JUnit
# report stays valid XML whatever bytes the probe printed.
. "$(dirname "$0")/lib.sh"
start_httpd

cat >"$T/exp.json" <<JSON
{
  "title": "failures",
  "method": [
    {"type": "action", "name": "no such program",
     "provider": {"type": "process", "path": "/nonexistent/faultline-test-prog"}},
    {"type": "action", "name": "wrong status",
     "provider": {"type": "http", "url": "$URL/status/500", "expected_status": 200}},
    {"type": "action", "name": "refused",
     "provider": {"type": "http", "url": "http://127.0.0.1:1/", "timeout": 2}},
    {"type": "action", "name": "still runs",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/still"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rb", "provider": {"type": "process", "path": "touch", "arguments": ["$T/rb"]}}
  ]
}
JSON
run_fl run exp.json
expect_rc 1
expect_out "FAILED"
[ -e "$T/still" ] || fail "the method stopped at the first failed activity"
[ -e "$T/rb" ] || fail "rollbacks did not run"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["exit_code"] == 1' \
	'j["deviated"] is False' \
	'[r["status"] for r in j["run"]] == ["failed"] * 3 + ["succeeded"]' \
	'"faultline-test-prog" in j["run"][0]["exception"][0]' \
	'j["run"][0]["output"] is None' \
	'j["run"][1]["output"]["status"] == 500 and "expected 200" in j["run"][1]["exception"][0]' \
	'"127.0.0.1:1" in j["run"][2]["exception"][0]' \
	'"no such program" in j["reason"]'

# JUnit: provider failure -> <error>; control bytes and markup in the output stay valid XML.
cat >"$T/hyp.json" <<JSON
{
  "title": "junit <escaping> & errors",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "prints \"odd\" <bytes> & stuff", "tolerance": "expected",
     "provider": {"type": "process", "path": "printf", "arguments": ["a\\\\001b<\\\\033]x&y\\\\377z"]}},
    {"type": "probe", "name": "refused", "tolerance": 200,
     "provider": {"type": "http", "url": "http://127.0.0.1:1/", "timeout": 2}}
  ]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]
}
JSON
run_fl run --junit junit.xml hyp.json
expect_rc 1
junit_check "$T/junit.xml" \
	'r.get("tests") == "6" and r.get("failures") == "2" and r.find("testsuite").get("skipped") == "4"' \
	'cases[0].find("failure") is not None and "<" in cases[0].find("failure").text' \
	'cases[0].get("name") == "prints \"odd\" <bytes> & stuff"'

cat >"$T/hyp2.json" <<JSON
{
  "title": "error",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "refused", "tolerance": 200,
     "provider": {"type": "http", "url": "http://127.0.0.1:1/", "timeout": 2}}
  ]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]
}
JSON
run_fl run --junit junit2.xml hyp2.json
expect_rc 1
junit_check "$T/junit2.xml" \
	'r.get("errors") == "1" and r.find("testsuite").get("skipped") == "2" and r.get("failures") == "1"' \
	'cases[0].find("error") is not None and "127.0.0.1:1" in cases[0].find("error").get("message")'
echo "PASS"
