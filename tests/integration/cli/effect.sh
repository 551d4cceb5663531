#!/bin/sh
# Proof of effect at the CLI, end to end through the embedded local agent: a
# `syscall` fault on a command the agent launches under the shim. When the
# fault is reverted the run prints one line per fault: it took effect, with
# each rule's hits, or a WARNING that it had none. The journal records each
# fault's final effect (fault_effects, the activity's agents[].effect,
# faults_without_effect); JUnit carries the warning in the run's <system-err>
# and a property; --require-effect turns a zero-effect fault into exit 4.
. "$(dirname "$0")/lib.sh"

agent="$(dirname "$FL")/../agent/faultline-agent"
shim="$(dirname "$FL")/../preload/libfaultline-preload.so"
[ -x "$agent" ] || fail "faultline-agent is not built next to faultline ($agent)"
[ -f "$shim" ] || fail "the preload shim is not built ($shim)"
export FAULTLINE_PRELOAD="$shim"

# exp FILE RULES: a command that reads /etc/hostname every 20 ms, faulted by RULES
# (JSON strings, comma-separated)
# for the method (a 1.5 s wait), reverted after it.
exp() {
	cat >"$T/$1" <<JSON
{
  "title": "proof of effect",
  "method": [
    {"type": "action", "name": "fault the reader",
     "provider": {"type": "fault", "kind": "syscall",
                  "target": {"command": ["/bin/sh", "-c", "while :; do cat /etc/hostname >/dev/null 2>&1; sleep 0.02; done"]},
                  "params": {"rules": [$2]}, "duration": "30s"}},
    {"type": "action", "name": "let it run", "provider": {"type": "process", "path": "sleep", "arguments": ["1.5"]}}
  ]
}
JSON
}

# A rule on a path the program never opens: held, but a WARNING.
exp never.json '"openat:EACCES:path=/faultline-never-opened/"' 
run_fl run --junit junit.xml never.json
expect_rc 0
expect_out "WARNING: fault .* had no effect: openat:EACCES:path=/faultline-never-opened/ 0 hits"
jassert "$T/journal.json" \
	'j["exit_code"] == 0' \
	'len(j["fault_effects"]) == 1' \
	'j["fault_effects"][0]["effect"]["took_effect"] is False' \
	'j["fault_effects"][0]["effect"]["hits"] == 0' \
	'j["faults_without_effect"] == [j["run"][0]["output"]["fault_id"]]' \
	'j["run"][0]["output"]["agents"][0]["effect"]["took_effect"] is False'
junit_check "$T/junit.xml" \
	'r.get("failures") == "0" and r.get("errors") == "0"' \
	'[c for c in cases if c.get("name") == "experiment run"][0].find("system-err").text.startswith("WARNING: fault ")' \
	'"no effect" in [c for c in cases if c.get("name") == "experiment run"][0].find("system-err").text' \
	'r.find("testsuite/properties/property[@name=\"faults_without_effect\"]").get("value") == "1"'

# The same with --require-effect: the run fails with exit 4. The WARNING shows
# with --quiet too.
run_fl run -q --require-effect --junit junit.xml never.json
expect_rc 4
expect_out "WARNING: fault .* had no effect"
jassert "$T/journal.json" \
	'j["exit_code"] == 4' \
	'"--require-effect" in j["reason"]'
junit_check "$T/junit.xml" \
	'r.get("failures") == "1"' \
	'[c for c in cases if c.get("name") == "experiment run"][0].find("failure").get("type") == "NoEffect"' \
	'r.find("testsuite/properties/property[@name=\"exit_code\"]").get("value") == "4"'

# A rule on the path it opens: it took effect, with the hits.
exp hits.json '"openat:ENOENT:path=/etc/hostname"' 
run_fl run --require-effect --junit junit.xml hits.json
expect_rc 0
grep -Eq "fault .* took effect: openat:ENOENT:path=/etc/hostname [1-9][0-9]* hits?" "$T/out" ||
	fail "no 'took effect' line with hits"
jassert "$T/journal.json" \
	'j["exit_code"] == 0' \
	'j["fault_effects"][0]["effect"]["took_effect"] is True' \
	'j["fault_effects"][0]["effect"]["hits"] >= 10' \
	'"faults_without_effect" not in j'
junit_check "$T/junit.xml" \
	'[c for c in cases if c.get("name") == "experiment run"][0].find("system-err") is None'

# Two rules, one never fires: the fault took effect, the idle rule is a WARNING.
exp two.json '"openat:ENOENT:path=/etc/hostname", "read:EIO:path=/faultline-never-opened/"'
run_fl run --junit junit.xml two.json
expect_rc 0
expect_out "took effect: openat:ENOENT:path=/etc/hostname [1-9]"
expect_out "WARNING: fault .*: rule read:EIO:path=/faultline-never-opened/ had no effect (0 hits)"
jassert "$T/journal.json" \
	'j["fault_effects"][0]["effect"]["took_effect"] is True' \
	'j["fault_effects"][0]["effect"]["rules"][1]["hits"] == 0' \
	'len(j["faults_without_effect"]) == 1'
junit_check "$T/junit.xml" \
	'"rule read:EIO:path=/faultline-never-opened/ had no effect" in [c for c in cases if c.get("name") == "experiment run"][0].find("system-err").text'
echo PASS
