#!/bin/sh
# faultline-agent with TLS and client certificates, using certificates this
# test generates with certtool (GnuTLS). Checks: a trusted client with the
# token works (apply + revert a real pause); no client certificate or one
# from another CA is refused in the TLS handshake (health included); plain
# HTTP on the TLS port gets nothing. With the controller binary as $2: the
# controller's own client over TLS with the inventory's ca/cert/key --
# `faultline status` lists the live faults of this agent and of a second one
# on a unix socket, `faultline revert --all` reverts them on both, and a
# controller certificate from another CA is refused.
set -u
agent=$1
fl=${2:-}
command -v certtool >/dev/null || { echo "SKIPPED: certtool (gnutls-bin) not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIPPED: curl not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIPPED: python3 not installed"; exit 77; }

dir=$(mktemp -d /tmp/fl-agent-tls-XXXXXX)
apid="" sleeper="" bpid="" sleeper2=""
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
	[ -n "$sleeper" ] && kill -9 "$sleeper" 2>/dev/null
	[ -n "$sleeper2" ] && kill -9 "$sleeper2" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- agent log ---"
	cat "$dir/agent.log" 2>/dev/null
	exit 1
}
cd "$dir" || exit 1

gen() { certtool "$@" >/dev/null 2>&1 || fail "certtool $*"; }
printf 'cn = "faultline test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >ca.tmpl
printf 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n' >srv.tmpl
printf 'cn = "faultline controller"\ntls_www_client\nsigning_key\nexpiration_days = 2\n' >cli.tmpl
for k in ca srv cli rogue; do gen --generate-privkey --key-type=ecdsa --outfile $k.key; done
gen --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem
gen --generate-certificate --load-privkey srv.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template srv.tmpl --outfile srv.pem
gen --generate-certificate --load-privkey cli.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template cli.tmpl --outfile cli.pem
gen --generate-self-signed --load-privkey rogue.key --template cli.tmpl --outfile rogue.pem

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >token)
token=$(cat token)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$agent" --listen "127.0.0.1:$port" --token-file token --state-dir state \
	--tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem --log-format json 2>agent.log &
apid=$!
url="https://127.0.0.1:$port"
i=0
until curl -s --cacert ca.pem --cert cli.pem --key cli.key "$url/v1/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 200 ] && fail "agent did not come up"
	sleep 0.05
done

code() { curl -s -o body.json -w '%{http_code}' --cacert ca.pem "$@"; }
auth="Authorization: Bearer $token"

[ "$(code --cert cli.pem --key cli.key "$url/v1/health")" = 200 ] || fail "health with a trusted client certificate"
grep -q '"tls":true' body.json || fail "health does not report tls: $(cat body.json)"
[ "$(code --cert cli.pem --key cli.key -H "$auth" "$url/v1/faults")" = 200 ] ||
	fail "trusted client refused: $(cat body.json)"
# No certificate, or one from another CA: refused in the TLS handshake, so no
# HTTP status at all (curl says 000), health included. TLS 1.3 clients finish
# their side before the server checks, so the server's abort shows as curl
# exit 52, 55 or 56 (empty reply, send or receive error); TLS 1.2 fails the
# handshake itself (curl exit 35).
handshake_refused() { # what, curl args...
	what=$1
	shift
	rm -f body.json
	st=$(curl -s -o body.json -w '%{http_code}' --cacert ca.pem "$@")
	rc=$?
	[ "$st" = 000 ] || fail "$what: got HTTP $st ($(cat body.json 2>/dev/null)), not a refused handshake"
	[ ! -s body.json ] || fail "$what: a body came back: $(cat body.json)"
	case $rc in 35 | 52 | 55 | 56) ;; *) fail "$what: curl exit $rc, not a TLS refusal" ;; esac
}
handshake_refused "no client certificate, health" "$url/v1/health"
handshake_refused "no client certificate, token" -H "$auth" "$url/v1/faults"
handshake_refused "certificate from another CA" --cert rogue.pem --key rogue.key -H "$auth" "$url/v1/faults"
handshake_refused "certificate from another CA, health" --cert rogue.pem --key rogue.key "$url/v1/health"
handshake_refused "no client certificate, TLS 1.2" --tlsv1.2 --tls-max 1.2 -H "$auth" "$url/v1/faults"
[ "$rc" = 35 ] || fail "TLS 1.2 without a certificate: curl exit $rc, expected 35 (handshake failed)"
handshake_refused "certificate from another CA, TLS 1.2" --tlsv1.2 --tls-max 1.2 \
	--cert rogue.pem --key rogue.key -H "$auth" "$url/v1/faults"
[ "$rc" = 35 ] || fail "TLS 1.2, another CA: curl exit $rc, expected 35 (handshake failed)"
[ "$(code --cert cli.pem --key cli.key -H "Authorization: Bearer wrong-token-0000000" \
	"$url/v1/faults")" = 401 ] || fail "wrong token accepted over TLS"
if curl -s -o /dev/null "http://127.0.0.1:$port/v1/health" 2>/dev/null; then
	fail "plain HTTP answered on the TLS port"
fi

# A real fault over TLS.
sleep 1000 &
sleeper=$!
sleep 0.05
body="{\"id\":\"tls1\",\"kind\":\"pause\",\"target\":{\"pid\":$sleeper},\"ttl_ms\":60000}"
[ "$(code --cert cli.pem --key cli.key -H "$auth" -X POST -d "$body" "$url/v1/faults")" = 201 ] ||
	fail "apply over TLS: $(cat body.json)"
state=$(awk '{print $3}' /proc/$sleeper/stat)
[ "$state" = T ] || fail "process not paused (state $state)"
[ "$(code --cert cli.pem --key cli.key -H "$auth" -X DELETE "$url/v1/faults/tls1")" = 200 ] ||
	fail "revert over TLS"
sleep 0.05
state=$(awk '{print $3}' /proc/$sleeper/stat)
[ "$state" = S ] || fail "process not resumed (state $state)"
grep -q "$token" agent.log && fail "token in the log"
grep -q '"msg":"listening"' agent.log || fail "no JSON log lines"
# --log-format json: every line is one JSON object with ts, level and msg.
python3 - agent.log <<'PY' || fail "a log line is not a JSON object with ts/level/msg"
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert isinstance(o, dict) and {"ts", "level", "msg"} <= o.keys(), line
    n += 1
assert n >= 3, n
PY

if [ -n "$fl" ]; then
	# A second agent, on a unix socket with its own token, and a fault on each.
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >token2)
	"$agent" --listen "unix:$dir/b.sock" --token-file token2 --state-dir state-b 2>agent-b.log &
	bpid=$!
	i=0
	until curl -s --unix-socket "$dir/b.sock" http://localhost/v1/health >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "the unix-socket agent did not come up"
		sleep 0.05
	done
	sleep 1000 &
	sleeper2=$!
	sleep 0.05
	[ "$(code --cert cli.pem --key cli.key -H "$auth" -X POST -d \
		"{\"id\":\"tls2\",\"experiment\":\"e-tls\",\"kind\":\"pause\",\"target\":{\"pid\":$sleeper},\"ttl_ms\":60000}" \
		"$url/v1/faults")" = 201 ] || fail "apply tls2: $(cat body.json)"
	[ "$(curl -s -o body.json -w '%{http_code}' --unix-socket "$dir/b.sock" -H "Authorization: Bearer $(cat token2)" \
		-X POST -d "{\"id\":\"unix1\",\"kind\":\"pause\",\"target\":{\"pid\":$sleeper2},\"ttl_ms\":60000}" \
		http://localhost/v1/faults)" = 201 ] || fail "apply unix1: $(cat body.json)"
	cat >inventory.json <<JSON
{"token_file": "token", "ca": "ca.pem", "cert": "cli.pem", "key": "cli.key",
 "agents": [{"name": "tls-host", "address": "https://127.0.0.1:$port"},
            {"name": "unix-host", "address": "unix:$dir/b.sock", "token_file": "token2"}]}
JSON
	"$fl" status --agents inventory.json --json >status.json 2>status.err ||
		fail "faultline status over TLS: exit $? $(cat status.err)"
	python3 - status.json <<'PY' || fail "faultline status --json: $(cat status.json)"
import json, sys
got = {a["agent"]: [f["id"] for f in a["faults"]] for a in json.load(open(sys.argv[1]))}
assert got == {"tls-host": ["tls2"], "unix-host": ["unix1"]}, got
PY
	"$fl" status --agents inventory.json >status.txt 2>&1 || fail "faultline status: $(cat status.txt)"
	grep -q '^tls-host  *tls2  *pause  *e-tls ' status.txt || fail "status lists no tls2: $(cat status.txt)"
	grep -q '^unix-host  *unix1  *pause ' status.txt || fail "status lists no unix1: $(cat status.txt)"
	# A controller certificate from another CA: refused, exit 1, nothing reverted.
	cat >rogue-inventory.json <<JSON
{"token_file": "token", "ca": "ca.pem", "cert": "rogue.pem", "key": "rogue.key",
 "agents": [{"name": "tls-host", "address": "https://127.0.0.1:$port"}]}
JSON
	"$fl" revert --all --agents rogue-inventory.json >revert.txt 2>&1
	[ $? = 1 ] || fail "revert --all with an untrusted certificate: not exit 1: $(cat revert.txt)"
	[ "$(awk '{print $3}' /proc/$sleeper/stat)" = T ] || fail "an untrusted controller reverted tls2"
	# The big red button: both agents, both faults.
	"$fl" revert --all --agents inventory.json >revert.txt 2>&1 || fail "revert --all: $(cat revert.txt)"
	grep -q "^tls-host: reverted 1 fault(s)" revert.txt && grep -q "^unix-host: reverted 1 fault(s)" revert.txt ||
		fail "revert --all said: $(cat revert.txt)"
	sleep 0.05
	for p in $sleeper $sleeper2; do
		[ "$(awk '{print $3}' /proc/$p/stat)" = S ] || fail "process $p not resumed by revert --all"
	done
	kill "$bpid" && wait "$bpid"
	bpid=""
fi

# TLS on the wildcard address needs no --insecure-plaintext: only plain HTTP
# off loopback does.
kill "$apid" && wait "$apid"
apid=""
"$agent" --listen "0.0.0.0:$port" --token-file token --state-dir state2 \
	--tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem 2>agent2.log &
apid=$!
i=0
until [ "$(code --cert cli.pem --key cli.key "$url/v1/health")" = 200 ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { cat agent2.log; fail "TLS agent on 0.0.0.0 did not come up"; }
	sleep 0.05
done
grep -q insecure agent2.log && fail "TLS on 0.0.0.0 warned about plaintext: $(cat agent2.log)"
echo "PASS tls"
