#!/bin/sh
# `faultline validate` on every malformed experiment of tests/corpus/invalid/
# (index: EXPECTED, lines "file.json<TAB>$.path"): exit 2, the JSON path in
# the message, and nothing run; `faultline run` on it says the same, exits 2
# and runs nothing either.
#
# "Nothing run" is observed, not assumed: the malformed files are mutations of
# one base experiment (tests/corpus/valid/corpus-base.json, gen-invalid.py)
# whose activities each leave a file ran-<name> in the current directory and
# whose hypothesis probe is an HTTP request. The base itself, run against the
# test's HTTP server, must leave those traces and hit the server; each
# malformed file, run the same way, must leave no file and send no request.
. "$(dirname "$0")/lib.sh"
start_httpd

dir="$SRC/tests/corpus/invalid"
base="$SRC/tests/corpus/valid/corpus-base.json"
[ -f "$dir/EXPECTED" ] || skip "tests/corpus/invalid/EXPECTED is not there yet"

hits() {
	python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/hits", timeout=5))["hits"])' "$URL"
}

# Traces left in $T besides the test's own files.
traces() {
	ls "$T" | grep -v -x -e out -e port || true
}

# The control: the base runs, leaves its traces and sends its request.
h0=$(hits)
run_fl run --journal "$T/j.json" --var "url=$URL/status/200" "$base"
expect_rc 0
for f in ran-stop ran-check ran-start j.json; do
	[ -e "$T/$f" ] || fail "the base experiment left no $f: the trace check would see nothing"
done
[ "$(hits)" -ge $((h0 + 3)) ] || fail "the base experiment's probes never reached the server"
rm -f "$T"/ran-* "$T/j.json"
[ -z "$(traces)" ] || fail "unexpected files after the control run: $(traces)"

n=0
tab=$(printf '\t')
h0=$(hits)
while IFS="$tab" read -r file path mode; do
	case "$file" in "" | "#"*) continue ;; esac
	n=$((n + 1))
	[ -f "$dir/$file" ] || fail "EXPECTED names $file, which does not exist"
	strict=""
	[ "$mode" != strict ] || strict=--strict # what Chaos Toolkit tolerates: a warning
	set +e
	(cd "$T" && "$FL" validate $strict "$dir/$file") >"$T/out" 2>&1
	RC=$?
	set -e
	[ "$RC" -eq 2 ] || fail "$file: validate exited $RC, expected 2"
	grep -qF -- "$dir/$file: $path" "$T/out" || fail "$file: no error at $path"
	set +e
	(cd "$T" && "$FL" run $strict --journal "$T/j.json" --var "url=$URL/status/200" "$dir/$file") \
		>"$T/out" 2>&1
	RC=$?
	set -e
	[ "$RC" -eq 2 ] || fail "$file: run exited $RC, expected 2"
	grep -qF -- "$dir/$file: $path" "$T/out" || fail "$file: run gives no error at $path"
	[ ! -e "$T/j.json" ] || fail "$file: run wrote a journal for an invalid experiment"
	[ -z "$(traces)" ] || fail "$file: something ran: $(traces)"
done <"$dir/EXPECTED"
[ "$n" -ge 40 ] || fail "EXPECTED lists $n files; the corpus is at least 40"
# The one request since h0 is the hits request itself.
[ "$(hits)" -eq $((h0 + 1)) ] || fail "a malformed experiment sent HTTP requests"
echo "PASS: $n invalid experiments refused, none ran anything"
