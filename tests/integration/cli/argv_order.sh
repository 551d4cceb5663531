#!/bin/sh
# Options after the file, as GNU tools accept them, for every subcommand that
# takes a file; `--` ends the options (docs/cli.md, faultline(1)):
#  - run: --journal, --var, --junit and --dry after FILE take effect; a second
#    file is refused naming both; `-- -x.json` runs a file named -x.json;
#  - validate, report: options between and after the files; `--` before a
#    -named file;
#  - status, revert: --agents FILE after the other options, against a real
#    agent; a stray operand (the inventory without --agents) is named;
#  - exec: what follows the command belongs to the command.
# POSIXLY_CORRECT changes nothing (checked for run, validate and report).
. "$(dirname "$0")/lib.sh"

AGENT=$(dirname "$FL")/../agent/faultline-agent
[ -x "$AGENT" ] || fail "faultline-agent is not built next to faultline ($AGENT)"

cat >"$T/exp.json" <<'JSON'
{"title": "argv order",
 "configuration": {"word": "default"},
 "method": [
  {"type": "action", "name": "say", "provider": {"type": "process", "path": "sh",
   "arguments": ["-c", "echo said-${word} >>said.txt"]}}]}
JSON
cp "$T/exp.json" "$T/-x.json"

# run: options after the file.
run_fl run exp.json --journal after.json --var word=after --junit after.xml
expect_rc 0
[ -s "$T/after.json" ] || fail "--journal after the file was not honoured"
[ ! -e "$T/journal.json" ] || fail "--journal after the file: ./journal.json was written too"
[ -s "$T/after.xml" ] || fail "--junit after the file was not honoured"
grep -qx said-after "$T/said.txt" || fail "--var after the file was not honoured: $(cat "$T/said.txt")"
jassert "$T/after.json" 'j["status"] == "completed"'
# Options on both sides, the later --var wins as before the file.
rm -f "$T/said.txt"
run_fl run --var word=first exp.json -q --var word=second --journal both.json
expect_rc 0
grep -qx said-second "$T/said.txt" || fail "options on both sides of the file: $(cat "$T/said.txt")"
# --dry after the file: nothing runs.
rm -f "$T/said.txt"
run_fl run exp.json --dry
expect_rc 0
expect_out "Dry run"
[ ! -e "$T/said.txt" ] || fail "--dry after the file ran the method"
# POSIXLY_CORRECT does not turn options after the file into operands.
POSIXLY_CORRECT=1 run_fl run exp.json --journal posix.json
expect_rc 0
[ -s "$T/posix.json" ] || fail "POSIXLY_CORRECT: --journal after the file was not honoured"
# Errors after the file are still named.
run_fl run exp.json --journal
expect_rc 2
expect_out "option '--journal' needs a value"
run_fl run exp.json --frob
expect_rc 2
expect_out "unknown option '--frob'"
# One file: a second one, before or after options or after --, is refused with both named.
for args in "exp.json other.json" "exp.json --dry other.json" "exp.json -- other.json"; do
	# shellcheck disable=SC2086
	run_fl run $args
	expect_rc 2
	expect_out "one experiment file at a time (got 'exp.json' and 'other.json')"
done
# `--` ends the options: -x.json is a file, and an option after -- is a file too.
rm -f "$T/said.txt"
run_fl run --journal dash.json -- -x.json
expect_rc 0
grep -qx said-default "$T/said.txt" || fail "'-- -x.json' did not run -x.json"
run_fl run -x.json
expect_rc 2
expect_out "unknown option '-x'"
run_fl run exp.json -- --journal
expect_rc 2
expect_out "got 'exp.json' and '--journal'"
run_fl run --
expect_rc 2
expect_out "no experiment file given"

# validate: options between and after the files; -- for a -named file.
cp "$T/exp.json" "$T/b.json"
printf '{"title": 3}\n' >"$T/bad.json"
run_fl validate exp.json -q b.json
expect_rc 0
[ ! -s "$T/out" ] || fail "-q after the files was not honoured: $(cat "$T/out")"
run_fl validate exp.json bad.json --quiet
expect_rc 2
expect_out "bad.json: \$.title"
grep -q "exp.json: ok" "$T/out" && fail "-q after the files was not honoured"
POSIXLY_CORRECT=1 run_fl validate exp.json -q
expect_rc 0
[ ! -s "$T/out" ] || fail "POSIXLY_CORRECT: -q after the file was not honoured"
run_fl validate exp.json -- -x.json -q
expect_rc 2
expect_out "^-x.json: ok"
expect_out "^-q: cannot read -q"
run_fl validate exp.json --var-file
expect_rc 2
expect_out "option '--var-file' needs a value"

# report: options between and after the journals; -- before a -named one.
cp "$T/after.json" "$T/-j.json"
run_fl report after.json -o rep.out --format markdown
expect_rc 0
[ -s "$T/rep.out" ] || fail "report: -o after the journal was not honoured"
grep -q "^## " "$T/rep.out" && ! grep -qi "<html" "$T/rep.out" ||
	fail "report: --format markdown after the journal was not honoured"
POSIXLY_CORRECT=1 run_fl report after.json both.json --output rep2.html
expect_rc 0
grep -qi '<html' "$T/rep2.html" || fail "report: POSIXLY_CORRECT: --output after the journals was not honoured"
run_fl report -o rep3.html after.json -- -j.json
expect_rc 0
[ -s "$T/rep3.html" ] || fail "report: '-- -j.json' was not read as a journal: $(cat "$T/out")"
run_fl report after.json --output
expect_rc 2
expect_out "option '--output' needs a value"

# status and revert: their file follows --agents, in any place among the options.
mkdir "$T/agent"
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/agent/token")
"$AGENT" --listen "unix:$T/agent/sock" --token-file "$T/agent/token" --state-dir "$T/agent/state" \
	2>"$T/agent/log" &
PIDS="$PIDS $!"
wait_file "$T/agent/sock" "the agent did not start: $(tail -2 "$T/agent/log")"
printf '{"agents": [{"name": "a1", "address": "unix:%s", "token_file": "%s"}]}\n' \
	"$T/agent/sock" "$T/agent/token" >"$T/inv.json"
for args in "--agents inv.json --json" "--json --agents inv.json" "--json --agents=inv.json"; do
	# shellcheck disable=SC2086
	run_fl status $args
	expect_rc 0
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/out" ||
		fail "status $args: not JSON: $(cat "$T/out")"
	expect_out '"a1"'
done
run_fl revert --all --agents inv.json
expect_rc 0
run_fl revert --agents inv.json --all
expect_rc 0
run_fl status inv.json
expect_rc 2
expect_out "unexpected argument 'inv.json'"
run_fl revert --all -- inv.json
expect_rc 2
expect_out "unexpected argument 'inv.json' after '--'"
run_fl status --json --agents
expect_rc 2
expect_out "option '--agents' needs a value"

# exec: options before the command's --; after the command, arguments are the command's.
run_fl exec -- sh -c 'echo "args: $*"' sh --fault write:EIO
expect_rc 0
expect_out "^args: --fault write:EIO$"
echo "PASS"
