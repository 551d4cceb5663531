#!/bin/sh
# Chaos Toolkit experiments that use only process and http providers run
# unchanged: the committed files (experiments/examples/ctk/, and the
# Chaos Toolkit-shaped ones of tests/corpus/valid/) are run as they are, only
# their configuration pointed at this test's HTTP server with --var (as one
# would with `chaos run --var`) or through the environment their "env"
# configuration names. Each ends HELD (exit 0) with a completed journal, and
# the server saw the requests Chaos Toolkit would send.
. "$(dirname "$0")/lib.sh"
start_httpd

# 1. The example shipped to users: process providers, a string and a list of
#    arguments, a regex tolerance on stdout, a ref, a pause, env configuration.
ex="$SRC/experiments/examples/ctk/file-survives-cleanup.json"
set +e
(cd "$T" && MARKER_FILE="$T/marker" "$FL" run --journal "$T/j1.json" "$ex") >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0
expect_out "steady state HELD"
[ ! -e "$T/marker" ] || fail "the example's cleanup did not remove its marker"
jassert "$T/j1.json" 'j["status"] == "completed" and j["deviated"] is False' \
	'j["run"][1]["activity"]["provider"]["arguments"][0].endswith("/marker")' \
	'[r["activity"]["name"] for r in j["run"]] == ["create-marker", "read-marker", "cleanup-job-removes-marker", "tmp-is-writable"]' \
	'all(r["status"] == "succeeded" for r in j["run"] + j["rollbacks"])' \
	'j["run"][1]["output"]["stdout"] == "ready\n"' \
	'j["steady_states"]["after"]["steady_state_met"] is True'

# Process providers only, with env configuration and secrets, a tracing control
# (ignored with --ignore-controls; refused without it) and extensions, arguments
# as a string, a list and an object.
set +e
(cd "$T" && FL_TEST_DATA_DIR_UNSET="$T" "$FL" run --ignore-controls --journal "$T/j0.json" \
	"$SRC/tests/corpus/valid/ctk-process-only.json") >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0
expect_out "steady state HELD"
jassert "$T/j0.json" 'j["status"] == "completed" and j["deviated"] is False' \
	'j["steady_states"]["before"]["probes"][1]["output"]["stdout"].rstrip("\n").endswith(j["run"][2]["activity"]["provider"]["arguments"][1])' \
	'all(r["status"] == "succeeded" for r in j["run"])'
grep -q s3cret "$T/j0.json" && fail "the secret is in the journal"

# 2. http and process providers: status, regex-on-body and exit-status
#    tolerances, a timeout from configuration, a [connect, read] timeout, a ref,
#    an http rollback that POSTs JSON.
run_fl run --journal "$T/j2.json" --var "base_url=$URL/ctk" "$SRC/tests/corpus/valid/ctk-process-http.json"
expect_rc 0
expect_out "steady state HELD"
jassert "$T/j2.json" 'j["status"] == "completed" and j["deviated"] is False' \
	'len(j["steady_states"]["before"]["probes"]) == 3 and len(j["steady_states"]["after"]["probes"]) == 3' \
	'j["steady_states"]["before"]["probes"][1]["output"]["body"] == "ok"' \
	'j["run"][0]["output"]["stdout"] == "restart worker-1\n"' \
	'j["rollbacks"][0]["status"] == "succeeded"'

# 3. http providers with jsonpath, range and one-of tolerances, query
#    arguments, a form-encoded PUT and a JSON DELETE.
run_fl run --journal "$T/j3.json" --var "api=$URL/ctk" "$SRC/tests/corpus/valid/ctk-http-jsonpath.json"
expect_rc 0
expect_out "steady state HELD"
jassert "$T/j3.json" 'j["status"] == "completed" and j["deviated"] is False' \
	'all(p["tolerance_met"] for p in j["steady_states"]["after"]["probes"])' \
	'j["steady_states"]["before"]["probes"][3]["output"]["status"] == 204'

# What the server saw: the requests python-requests would have sent for them.
python3 - "$URL/ctk-log" <<'PY' || fail "the server did not see the expected requests"
import json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
def seen(method, path, **kw):
    for r in log:
        if r["method"] == method and r["path"] == path and all(r[k] == v for k, v in kw.items()):
            return True
    print("no %s %s %r in %s" % (method, path, kw, json.dumps(log)), file=sys.stderr)
    return False
ok = all([
    seen("GET", "/ctk/"), seen("GET", "/ctk/health"),
    seen("POST", "/ctk/notify", content_type="application/json", body='{"event":"done"}'),
    seen("GET", "/ctk/info"), seen("GET", "/ctk/replicas"),
    seen("GET", "/ctk/ping", query="verbose=True&n=3"),
    seen("PUT", "/ctk/admin/latency", content_type="application/x-www-form-urlencoded",
         body="delay_ms=300&target=db"),
    seen("DELETE", "/ctk/admin/latency", content_type="application/json", body='{"target":"db"}'),
])
sys.exit(0 if ok else 1)
PY

# The same file against a service that answers 500: the status tolerance
# judges, and the run stops before the method (chaoslib: "completed", not
# deviated; faultline exits 1).
run_fl run --journal "$T/j4.json" --var "base_url=$URL/status/500?" "$SRC/tests/corpus/valid/ctk-process-http.json"
expect_rc 1
jassert "$T/j4.json" 'j["status"] == "completed" and j["exit_code"] == 1' 'j["run"] == []' \
	'j["steady_states"]["before"]["steady_state_met"] is False'
echo "PASS"
