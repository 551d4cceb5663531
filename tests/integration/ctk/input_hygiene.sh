#!/bin/sh
# #12 item 9, the experiment side: what a file says cannot reach further than
# it looks. A \u0000 inside a JSON string no longer cuts it short (the path
# "/bin/true\u0000; touch x" ran /bin/true), bytes that are not UTF-8 are
# refused, and `run --dry` (and a run's progress) shows control characters of
# titles and names escaped instead of sending them to the terminal.
set -eu
FL=${FL_BIN:?FL_BIN must point at the faultline binary}
T=$(mktemp -d /tmp/fl-ctk-hygiene.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
	echo "FAIL: $*" >&2
	[ ! -f "$T/out" ] || cat -v "$T/out" >&2
	exit 1
}
cd "$T"

# 1. \u0000 in a string: refused at its path, nothing runs.
printf '%s\n' '{"title": "nul", "method": [{"type": "action", "name": "a",' \
	'  "provider": {"type": "process", "path": "/bin/true\u0000; touch ran-nul"}}]}' >nul.json
set +e
"$FL" run --journal j.json nul.json >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "a path holding \\u0000: exit $rc, want 2"
grep -q 'nul.json: $.method\[0\].provider.path: .*\\u0000' "$T/out" || fail "no error at the path"
[ ! -e ran-nul ] && [ ! -e j.json ] || fail "something ran"
# ... and in YAML, where "\0" is the same character
printf 'title: nul\nmethod:\n- type: action\n  name: a\n  provider: {type: process, path: "/bin/true\\0; touch ran-nul"}\n' >nul.yaml
set +e
"$FL" validate nul.yaml >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q 'nul.yaml: $.method\[0\].provider.path: ' "$T/out" || fail "YAML \\0: exit $rc"

# 2. Not UTF-8: refused at its path (not echoed back as it is).
printf '{"title": "t", "description": "caf\351", "method": []}\n' >latin1.json
set +e
"$FL" validate latin1.json >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q 'latin1.json: $.description: .*not valid UTF-8' "$T/out" || fail "latin-1: exit $rc"

# 3. Escape sequences in a title and a name (set the window title, clear the screen).
printf '%s\n' '{"title": "t\u001b]0;owned\u0007\u001b[2J", "method": [{"type": "action",' \
	'  "name": "n\u001b[31mred", "provider": {"type": "process", "path": "true"}}]}' >esc.json
for mode in --dry ""; do
	set +e
	"$FL" run $mode --journal j.json esc.json >"$T/out" 2>&1
	rc=$?
	set -e
	[ $rc -eq 0 ] || fail "run $mode: exit $rc"
	if LC_ALL=C grep -q "$(printf '\033')" "$T/out"; then
		fail "run $mode sent an escape character to the terminal"
	fi
	grep -q 't\\x1b\]0;owned\\x07\\x1b\[2J' "$T/out" || fail "run $mode: the title is not shown escaped"
	grep -q 'n\\x1b\[31mred' "$T/out" || fail "run $mode: the name is not shown escaped"
done
# the journal keeps the title as written
python3 -c 'import json,sys; j=json.load(open("j.json")); sys.exit(j["experiment"]["title"] != "t\x1b]0;owned\x07\x1b[2J")' ||
	fail "the journal does not keep the title as written"
echo "PASS"
