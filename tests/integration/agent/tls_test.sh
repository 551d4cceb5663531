#!/bin/sh
# faultline-agent with TLS and client certificates, using certificates this
# test generates with certtool (GnuTLS). Checks: a trusted client with the
# token works (apply + revert a real pause); no client certificate, an
# untrusted one, or plain HTTP are refused; health stays open.
set -u
agent=$1
command -v certtool >/dev/null || { echo "SKIPPED: certtool (gnutls-bin) not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIPPED: curl not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIPPED: python3 not installed"; exit 77; }

dir=$(mktemp -d /tmp/fl-agent-tls-XXXXXX)
apid="" sleeper=""
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null
	[ -n "$sleeper" ] && kill -9 "$sleeper" 2>/dev/null
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

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >token
chmod 600 token
token=$(cat token)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$agent" --listen "127.0.0.1:$port" --token-file token --state-dir state \
	--tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem --log-format json 2>agent.log &
apid=$!
url="https://127.0.0.1:$port"
i=0
until curl -s --cacert ca.pem "$url/v1/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 200 ] && fail "agent did not come up"
	sleep 0.05
done

code() { curl -s -o body.json -w '%{http_code}' --cacert ca.pem "$@"; }
auth="Authorization: Bearer $token"

[ "$(code "$url/v1/health")" = 200 ] || fail "health without a client certificate"
grep -q '"tls":true' body.json || fail "health does not report tls: $(cat body.json)"
[ "$(code --cert cli.pem --key cli.key -H "$auth" "$url/v1/faults")" = 200 ] ||
	fail "trusted client refused: $(cat body.json)"
[ "$(code -H "$auth" "$url/v1/faults")" = 401 ] || fail "no client certificate accepted"
grep -q client_certificate body.json || grep -q 'client certificate' body.json ||
	fail "401 does not say why: $(cat body.json)"
[ "$(code --cert rogue.pem --key rogue.key -H "$auth" "$url/v1/faults")" = 401 ] ||
	fail "untrusted client certificate accepted"
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
echo "PASS tls"
