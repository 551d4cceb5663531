#!/bin/sh
# Helpers shared by tests/integration/cli/lib.sh and services/lib.sh, which
# source this file once they have defined $T (private temp dir), $FL (the
# faultline binary), $SRC (the source tree), fail and skip:
#   run_fl ARGS...       faultline ARGS in $T; output in $T/out, exit status in $RC
#   expect_rc N          $RC is N, else fail
#   jassert FILE EXPR... each python expression over j (FILE's JSON) holds;
#                        d(name) is the "during" record of the probe named name
#   junit_valid FILE     FILE is valid against the JUnit schema CI systems read
#                        (cli/junit.xsd: Jenkins' junit-10.xsd format), by xmllint
#   shared_dir           a new folder under /tmp that every user can traverse
#   shared_copy DIR F... copies of F... in DIR that every user can read (and
#                        run, when F could be run)
#   readable_as USER F...  USER (a name or uid) can read each F, else fail
# The last three are for what a test runs as another user (nobody, postgres,
# an unmapped uid): the checkout may sit under a 0700 folder (a home folder, a
# `mktemp -d`), which only its owner can traverse, so the shim, a binary or a
# corpus that such a process must open is copied out first, never read in place.
# Tests that do not source this file do the same (kube/pods_test.sh,
# agent/security_test.c, fuzz/replay_shared.sh).

run_fl() {
	set +e
	(cd "$T" && "$FL" "$@") >"$T/out" 2>&1
	RC=$?
	set -e
}

expect_rc() {
	[ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC"
}

jassert() {
	f=$1
	shift
	python3 - "$f" "$@" <<'PY' || fail "journal assertion failed"
import json, sys
j = json.load(open(sys.argv[1]))
def d(name):
    for r in j["steady_states"]["during"]:
        if r["name"] == name:
            return r
    raise KeyError(name)
bad = 0
for e in sys.argv[2:]:
    try:
        ok = eval(e, {"j": j, "d": d})
    except Exception as x:
        ok = False
        print("error in %r: %r" % (e, x), file=sys.stderr)
    if not ok:
        print("not true: %s" % e, file=sys.stderr)
        bad = 1
if bad and isinstance(j, dict):
    print(json.dumps({k: j.get(k) for k in ("status", "deviated", "reason")}), file=sys.stderr)
    during = (j.get("steady_states") or {}).get("during")
    if during:
        print(json.dumps(during, indent=1)[:3000], file=sys.stderr)
sys.exit(bad)
PY
}

junit_valid() {
	command -v xmllint >/dev/null 2>&1 || skip "xmllint is not installed (libxml2-utils)"
	xmllint --noout --schema "$SRC/tests/integration/cli/junit.xsd" "$1" >"$T/xmllint.out" 2>&1 || {
		cat "$T/xmllint.out" >&2
		fail "$1 is not valid against tests/integration/cli/junit.xsd"
	}
	rm -f "$T/xmllint.out"
}

shared_dir() {
	sd=$(mktemp -d /tmp/fl-shared.XXXXXX) || fail "mktemp -d under /tmp failed"
	chmod 755 "$sd" || fail "chmod 755 $sd failed"
	echo "$sd"
}

shared_copy() {
	sd=$1
	shift
	for sf in "$@"; do
		cp "$sf" "$sd/" || fail "cannot copy $sf into $sd"
		chmod a+r "$sd/${sf##*/}"
		[ ! -x "$sf" ] || chmod a+x "$sd/${sf##*/}"
	done
}

readable_as() {
	ru=$1
	shift
	command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is not installed"
	case $ru in
	*[!0-9]*) ruid=$(id -u "$ru") && rgid=$(id -g "$ru") || fail "no user $ru" ;;
	*) ruid=$ru rgid=$ru ;;
	esac
	for rf in "$@"; do
		setpriv --reuid "$ruid" --regid "$rgid" --clear-groups test -r "$rf" ||
			fail "user $ru cannot read $rf (a folder above it is closed to others?)"
	done
}
