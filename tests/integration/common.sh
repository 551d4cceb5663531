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
