#!/bin/sh
# Usage errors exit 2 and name the problem; help and version exit 0.
. "$(dirname "$0")/lib.sh"

run_fl --help
expect_rc 0
expect_out "Exit codes"
expect_out "3  interrupted"
run_fl help run
expect_rc 0
expect_out "--rollback-strategy"
run_fl run --help
expect_rc 0
expect_out "--var-file"
run_fl help validate
expect_rc 0
# The agent's and the shim's commands are reachable from the one binary.
for c in status revert exec; do
	run_fl help "$c"
	expect_rc 0
	expect_out "faultline $c"
done
run_fl status
expect_rc 2
expect_out "no agents"
run_fl --version
expect_rc 0
grep -Eq '^faultline [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "bad --version output"

run_fl
expect_rc 2
run_fl frobnicate
expect_rc 2
expect_out "unknown command 'frobnicate'"
run_fl --frob
expect_rc 2
expect_out "'--frob'"
run_fl run --no-such-flag x.json
expect_rc 2
expect_out "unknown option '--no-such-flag'"
run_fl run -Z x.json
expect_rc 2
expect_out "'-Z'"
run_fl validate --bogus=1 x.json
expect_rc 2
expect_out "unknown option '--bogus'"
run_fl run --rollback-strategy sometimes x.json
expect_rc 2
expect_out "sometimes"
run_fl run --journal
expect_rc 2
expect_out "needs a value"
run_fl run
expect_rc 2
run_fl run a.json b.json
expect_rc 2
run_fl validate
expect_rc 2
run_fl run does-not-exist.json
expect_rc 2
expect_out "does-not-exist.json"

# A report that cannot be written is refused before anything runs.
cat >"$T/exp.json" <<JSON
{"title": "t", "method": [
  {"type": "action", "name": "m", "provider": {"type": "process", "path": "touch", "arguments": ["$T/ran"]}}]}
JSON
run_fl run --journal "$T/no/such/dir/j.json" exp.json
expect_rc 2
[ ! -e "$T/ran" ] || fail "ran although the journal cannot be written"
run_fl run --junit "$T/no/such/dir/j.xml" exp.json
expect_rc 2
[ ! -e "$T/ran" ] || fail "ran although the JUnit report cannot be written"

# Started with stdin, stdout and stderr closed: still runs, and its pipes never land on fds 0-2.
rm -f "$T/ran"
set +e
(cd "$T" && "$FL" run --journal closed.json exp.json <&- >&- 2>&-)
RC=$?
set -e
expect_rc 0
[ -e "$T/ran" ] || fail "nothing ran with the standard fds closed"
jassert "$T/closed.json" 'j["status"] == "completed"'
rm -f "$T/ran" "$T/closed.json"

# --journal - puts the journal alone on stdout; progress moves to stderr.
set +e
(cd "$T" && "$FL" run --journal - exp.json) >"$T/stdout.json" 2>"$T/out"
RC=$?
set -e
expect_rc 0
expect_out "steady state\|COMPLETED"
jassert "$T/stdout.json" 'j["status"] == "completed"'
rm -f "$T/ran"

# validate: ok files say so; exit 2 if any is invalid, with every error.
printf '{"title": "x", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "m", "func": "f"}}], "bogus": 1}\n' >"$T/bad.json"
run_fl validate exp.json
expect_rc 0
expect_out "exp.json: ok"
run_fl validate exp.json bad.json
expect_rc 2
expect_out "exp.json: ok"
expect_out "bad.json: \$.method\[0\].provider.type: "
expect_out "bad.json: warning: \$.bogus: "
[ ! -e "$T/ran" ] || fail "validate ran something"
echo "PASS"
