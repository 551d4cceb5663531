#!/bin/sh
# `faultline validate` on every malformed experiment of tests/corpus/invalid/
# (index: EXPECTED, lines "file.json<TAB>$.path"): exit 2, the JSON path in
# the message, and nothing run (`faultline run` on it runs nothing either).
. "$(dirname "$0")/lib.sh"

dir="$SRC/tests/corpus/invalid"
[ -f "$dir/EXPECTED" ] || skip "tests/corpus/invalid/EXPECTED is not there yet"

n=0
tab=$(printf '\t')
while IFS="$tab" read -r file path; do
	case "$file" in "" | "#"*) continue ;; esac
	n=$((n + 1))
	[ -f "$dir/$file" ] || fail "EXPECTED names $file, which does not exist"
	set +e
	(cd "$T" && "$FL" validate "$dir/$file") >"$T/out" 2>&1
	RC=$?
	set -e
	[ "$RC" -eq 2 ] || fail "$file: validate exited $RC, expected 2"
	grep -qF -- "$dir/$file: $path" "$T/out" || fail "$file: no error at $path"
	set +e
	(cd "$T" && "$FL" run --journal "$T/j.json" "$dir/$file") >"$T/out" 2>&1
	RC=$?
	set -e
	[ "$RC" -eq 2 ] || fail "$file: run exited $RC, expected 2"
	[ ! -e "$T/j.json" ] || fail "$file: run wrote a journal for an invalid experiment"
done <"$dir/EXPECTED"
[ "$n" -gt 0 ] || fail "EXPECTED lists no file"
# Nothing any of them could have run left a trace in the scratch dir.
[ "$(ls "$T" | grep -v '^out$' | wc -l)" -eq 0 ] || fail "something ran: $(ls "$T")"
echo "PASS: $n invalid experiments refused"
