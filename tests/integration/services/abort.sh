#!/bin/sh
# An abort condition: a 30 s pause of a web server burns the error budget of
# the abort probe; the run stops within seconds, the pause is reverted at once
# (the server answers again right after), the rollbacks run, the journal says
# "aborted" and why, and faultline exits 1.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
echo ok >"$T/www/index.html"
P=$(free_port)
python3 -m http.server "$P" --bind 127.0.0.1 --directory "$T/www" >"$T/site.log" 2>&1 &
echo $! >"$T/site.pid"
PIDS="$PIDS $!"
wait_port "$P" || skip "python3 http.server did not start"

start=$(date +%s)
SITE_URL="http://127.0.0.1:$P/" SITE_PIDFILE="$T/site.pid" ROLLBACK_MARKER="$T/rolled-back" \
	run_fl run --journal journal.json "$SRC/experiments/examples/abort-on-error-budget.json"
took=$(($(date +%s) - start))
summary "$T/journal.json"
expect_rc 1
grep -q "ABORTED" "$T/out" || fail "the summary does not say ABORTED"
[ "$took" -lt 10 ] || fail "the abort took ${took}s"
jassert "$T/journal.json" \
	'j["status"] == "aborted"' \
	'j["reason"].startswith("abort condition \"error budget\" met: success ratio")' \
	'len(j["run"]) == 1' \
	'j["rollbacks"][0]["status"] == "succeeded"' \
	'd("error budget")["mode"] == "abort"' \
	'd("error budget")["output"]["samples"] >= 5' \
	'd("error budget")["output"]["failed"] >= 1' \
	'j["duration"] < 10'
[ -f "$T/rolled-back" ] || fail "the rollback did not run"
grep -q '^State:[[:space:]]*T' "/proc/$(cat "$T/site.pid")/status" && fail "the server is still stopped"
curl -fsS -m 2 "http://127.0.0.1:$P/" >/dev/null || fail "the server does not answer after the abort"
echo "PASS: aborted in ${took}s, fault reverted, rollbacks ran"
