#!/bin/sh
# Grafana annotations: with --grafana-url and --grafana-token-file, a run
# that pauses a process for 1.5 s through the embedded local agent posts the
# fault's start (POST /api/annotations, tags faultline/fault/kind:pause/run:ID),
# makes it a region when its lease ends (PATCH /api/annotations/ID with
# timeEnd 1.5 s later) and posts the verdict over the whole run; every
# request has the Bearer token and Grafana's documented JSON shape (checked
# by grafana.py, a local recording server: Debian has no Grafana). A Grafana
# that fails or cannot be reached is a warning: the verdict and the exit code
# stay. Bad flags exit 2 before anything runs.
. "$(dirname "$0")/lib.sh"

printf 'glsa_faultline_test_token_%s\n' "$$" >"$T/token"
start_grafana() {
	rm -f "$T/gport"
	python3 "$HERE/grafana.py" --port-file "$T/gport" --log "$T/$1.log" --token-file "$T/token" $2 &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/gport" ]; do
		i=$((i + 1))
		[ $i -lt 500 ] || fail "the recording server did not start"
		sleep 0.01
	done
	GURL="http://127.0.0.1:$(cat "$T/gport")"
}

sleep 60 &
victim=$!
PIDS="$PIDS $victim"
cat >"$T/exp.json" <<JSON
{
  "title": "pause a sleeper",
  "steady-state-hypothesis": {"title": "it runs", "probes": [
    {"type": "probe", "name": "it runs", "tolerance": 1, "provider": {"type": "running", "target": {"pid": $victim}}}
  ]},
  "method": [
    {"type": "action", "name": "pause the sleeper",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim}, "duration": "1500ms"},
     "pauses": {"after": 2.5}}
  ]
}
JSON

start_grafana ok ""
run_fl run --grafana-url "$GURL/" --grafana-token-file "$T/token" exp.json
expect_rc 0
grep -q "warning" "$T/out" && fail "warnings while Grafana answered"
python3 - "$T/ok.log" "$T/journal.json" <<'PY' || fail "the annotations are not what they should be"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
j = json.load(open(sys.argv[2]))
def ms(ts):
    import datetime
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
bad = [r for r in reqs if r["problems"]]
assert not bad, bad
assert [(r["method"], r["path"]) for r in reqs] == [("POST", "/api/annotations"), ("PATCH", "/api/annotations/1"), ("POST", "/api/annotations")], reqs
start, end, verdict = reqs[0]["body"], reqs[1]["body"], reqs[2]["body"]
applied = j["run"][0]["output"]["agents"][0]["applied"]
assert start["tags"] == ["faultline", "fault", "kind:pause", "run:" + j["run_id"]], start
assert abs(start["time"] - ms(applied["applied_at"])) < 1000, (start, applied)
assert start["text"].startswith('faultline: fault "pause the sleeper" (pause) applied on local: kill -STOP'), start
assert set(end) == {"timeEnd", "text"} and 1300 <= end["timeEnd"] - start["time"] <= 1700, (start, end)
assert "its lease ended" in end["text"], end
assert verdict["tags"] == ["faultline", "verdict", "held", "run:" + j["run_id"]], verdict
assert abs(verdict["time"] - ms(j["start"])) < 200 and verdict["timeEnd"] >= ms(j["end"]) - 200, (verdict, j["start"], j["end"])
assert verdict["text"] == 'faultline: "pause a sleeper": steady state HELD (exit code 0)', verdict
PY

# Grafana failing: a warning, the same verdict.
start_grafana fail "--fail 500"
run_fl run --grafana-url "$GURL" --grafana-token-file "$T/token" exp.json
expect_rc 0
grep -q "steady state HELD" "$T/out" || fail "a failing Grafana changed the verdict"
grep -q "warning: grafana: POST $GURL/api/annotations: HTTP 500" "$T/out" || fail "a failing Grafana was not said"
[ "$(wc -l <"$T/fail.log")" -ge 2 ] || fail "the failing Grafana was not asked"

# Grafana unreachable (nothing listens): a warning, the same verdict.
port=$(free_port)
run_fl run --grafana-url "http://127.0.0.1:$port" --grafana-token-file "$T/token" exp.json
expect_rc 0
grep -q "steady state HELD" "$T/out" || fail "an unreachable Grafana changed the verdict"
grep -q "warning: grafana: POST http://127.0.0.1:$port/api/annotations: " "$T/out" ||
	fail "an unreachable Grafana was not said"

# Bad flags: exit 2, the flag named, nothing run (no journal).
rm -f "$T/journal.json"
for args in "--grafana-url ftp://grafana --grafana-token-file $T/token|--grafana-url 'ftp://grafana'" \
	"--grafana-url $GURL --grafana-token-file $T/missing|--grafana-token-file $T/missing: No such file" \
	"--grafana-token-file $T/token|--grafana-token-file needs --grafana-url" \
	"--grafana-url $GURL|--grafana-url needs --grafana-token-file"; do
	# shellcheck disable=SC2086
	run_fl run ${args%%|*} exp.json
	expect_rc 2
	grep -q -- "${args#*|}" "$T/out" || fail "'${args%%|*}' is not named: $(cat "$T/out")"
	[ ! -e "$T/journal.json" ] || fail "'${args%%|*}' ran the experiment"
done
: >"$T/empty"
run_fl run --grafana-url "$GURL" --grafana-token-file "$T/empty" exp.json
expect_rc 2
echo "PASS"
