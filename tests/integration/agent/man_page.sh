#!/bin/sh
# faultline-agent(8) documents every option the agent's --help lists, in its
# SYNOPSIS and its OPTIONS, and renders without groff warnings.
set -u
agent=$1 page=$2
command -v groff >/dev/null || { echo "SKIPPED: groff not installed"; exit 77; }
fail() {
	echo "FAIL: $*"
	exit 1
}
warn=$(groff -man -ww -z "$page" 2>&1) || fail "groff: $warn"
[ -z "$warn" ] || fail "groff warnings: $warn"
text=$(groff -man -Tutf8 -P -cbou "$page" 2>/dev/null) || fail "cannot render $page"
synopsis=$(printf '%s\n' "$text" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p')
opts=$("$agent" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ -n "$opts" ] || fail "faultline-agent --help lists no options"
n=0
for o in $opts; do
	printf '%s\n' "$synopsis" | grep -q -- "$o" || fail "$o is not in the SYNOPSIS"
	# An entry's header line: indented 7, starting with an option.
	printf '%s\n' "$text" | sed -n '/^OPTIONS/,/^CONFIGURATION/p' | grep -- '^       --' |
		grep -q -- "$o\b" || fail "$o has no entry under OPTIONS"
	n=$((n + 1))
done
for o in --listen --token-file --state-dir --config; do
	printf '%s\n' "$opts" | grep -qx -- "$o" || fail "--help lacks $o"
done
echo "PASS man_page ($n options documented)"
