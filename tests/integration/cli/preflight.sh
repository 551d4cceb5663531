#!/bin/sh
# Pre-flight: an experiment that asks for a fault this kernel cannot do (netem
# where sch_netem is missing) stops before anything runs -- no probe, no
# action, no rollback -- names the agent and the missing piece, and exits 2.
. "$(dirname "$0")/lib.sh"

agent="$(dirname "$FL")/../agent/faultline-agent"
# Built with faultline (CTest passes that build): missing, the build is broken.
[ -x "$agent" ] || fail "faultline-agent is not built next to faultline ($agent)"
if [ -d /sys/module/sch_netem ] || modprobe -n -q sch_netem 2>/dev/null; then
	skip "this kernel has sch_netem: the missing-capability path cannot be shown here"
fi

cat >"$T/exp.json" <<JSON
{
  "title": "latency on loopback",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "probe runs", "tolerance": 0,
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/probed"]}}
  ]},
  "method": [
    {"type": "action", "name": "slow loopback",
     "provider": {"type": "fault", "kind": "netem", "target": {"interface": "lo"},
                  "params": {"delay": "100ms"}, "duration": "5s"}}
  ],
  "rollbacks": [
    {"type": "action", "name": "rollback runs",
     "provider": {"type": "process", "path": "touch", "arguments": ["$T/rolled-back"]}}
  ]
}
JSON
run_fl run --junit junit.xml exp.json
expect_rc 2
expect_out "kernel has no sch_netem (modprobe sch_netem)"
[ -e "$T/probed" ] && fail "a probe ran although pre-flight failed"
[ -e "$T/rolled-back" ] && fail "a rollback ran although pre-flight failed"
jassert "$T/journal.json" \
	'j["status"] == "aborted"' \
	'j["preflight"]["ok"] is False' \
	'"sch_netem" in j["preflight"]["error"]' \
	'j["run"] == []' \
	'j["exit_code"] == 2'
# JUnit: nothing ran (every case skipped), the run case is an <error>.
junit_check "$T/junit.xml" \
	'r.get("tests") == "5" and r.get("failures") == "0" and r.get("errors") == "1" and r.find("testsuite").get("skipped") == "4"' \
	'cases[-1].find("error").get("type") == "PreflightFailed"' \
	'"sch_netem" in cases[-1].find("error").get("message")' \
	'"pre-flight" in cases[-2].find("skipped").get("message")' \
	'{p.get("name"): p.get("value") for p in r.find("testsuite/properties")}["exit_code"] == "2"'
echo "PASS"
