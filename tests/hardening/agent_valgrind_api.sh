#!/bin/sh
# faultline-agent under valgrind memcheck through its whole API, with faults
# that valgrind can run: valgrind 3.19 (Debian 12) has no pidfd_open(2), so the
# process kinds (kill, pause) report "not usable here" under it; the network
# kinds work. In a private network namespace with a veth pair this test drives:
# health, 401, malformed bodies, apply bandwidth (tbf) and partition, list,
# get, renew, metrics, revert (twice: idempotent), lease expiry, revert by
# experiment, and SIGTERM with a live fault -- checking the qdiscs for real --
# then requires valgrind's verdict on the agent: 0 errors, 0 bytes lost.
#   tests/hardening/agent_valgrind_api.sh [path/to/faultline-agent]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
agent=${1:-$top/build/agent/faultline-agent}
[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: needs root (network namespace)"; exit 77; }
command -v valgrind >/dev/null || { echo "SKIPPED: valgrind not installed"; exit 77; }
[ -x "$agent" ] || { echo "SKIPPED: no agent at $agent (build first)"; exit 77; }
ns=fl-vg-$$
ip netns add "$ns" 2>/dev/null || { echo "SKIPPED: cannot create a network namespace"; exit 77; }
dir=$(mktemp -d /tmp/fl-agent-vg-XXXXXX)
vpid=""
fail=0
cleanup() {
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	if [ "$fail" -ne 0 ]; then
		echo "--- agent/valgrind log ---"
		cat "$dir/agent.log" "$dir"/vg.* 2>/dev/null | tail -60
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
ip -n "$ns" link add v0 type veth peer name v1 && ip -n "$ns" link set v0 up &&
	ip -n "$ns" link set v1 up && ip -n "$ns" link set lo up &&
	ip -n "$ns" addr add 10.77.0.1/24 dev v0 || { echo "SKIPPED: veth in netns"; exit 77; }
tok=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
umask 077
printf '%s\n' "$tok" >"$dir/token"
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \
	--log-file="$dir/vg.%p" "$agent" --listen "unix:$dir/sock" --token-file "$dir/token" \
	--state-dir "$dir/state" 2>"$dir/agent.log" &
vpid=$!

check() { # what expected actual
	if [ "$2" = "$3" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: want $2, got $3"
		fail=1
	fi
}
call() { # method path [body] [token]: prints the status, body to $dir/out
	tk=${4-$tok}
	: >"$dir/out" # curl writes no file for an empty body
	curl -s -o "$dir/out" -w '%{http_code}' --unix-socket "$dir/sock" -X "$1" \
		${tk:+-H "Authorization: Bearer $tk"} ${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
		"http://localhost$2"
	cat "$dir/out" >>"$dir/bodies"
}
qdisc() { ip netns exec "$ns" tc qdisc show dev v0 | grep -c "$1"; }
# The partition's own filter (pref 250), not the mark at pref 249 on a clsact
# faultline added (docs/faults/network.md, "faultline's clsact").
filters() { ip netns exec "$ns" tc filter show dev v0 ingress | grep -c "pref 250 bpf.*direct-action"; }
mark() { ip netns exec "$ns" tc filter show dev v0 ingress | grep -c "pref 249 bpf.*direct-action"; }

i=0
while [ "$(call GET /v1/health)" != 200 ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "FAIL agent did not answer under valgrind"; fail=1; exit 1; }
	sleep 0.1
done
echo "ok   health (agent under valgrind, pid $vpid)"
t="{\"netns\":\"$ns\",\"interface\":\"v0\"}"
check "no token -> 401" 401 "$(call POST /v1/faults '{}' '')"
check "wrong token -> 401" 401 "$(call GET /v1/faults '' wrong)"
check "malformed JSON -> 400" 400 "$(call POST /v1/faults '{"id":')"
check "nested duplicate key -> 400" 400 "$(call POST /v1/faults "{\"id\":\"d\",\"kind\":\"bandwidth\",\"target\":$t,\"params\":{\"rate\":\"1mbit\",\"rate\":\"2mbit\"},\"ttl_ms\":60000}")"
check "unknown kind -> 4xx" 400 "$(call POST /v1/faults '{"id":"u","kind":"nope","target":{},"ttl_ms":1000}' | sed 's/^4.*/400/')"
check "unknown query parameter -> 400" 400 "$(call DELETE '/v1/faults?colour=red')"
check "apply bandwidth -> 201" 201 "$(call POST /v1/faults "{\"id\":\"bw1\",\"experiment\":\"e1\",\"kind\":\"bandwidth\",\"target\":$t,\"params\":{\"rate\":\"1mbit\",\"burst\":\"32kb\",\"latency\":\"50ms\"},\"ttl_ms\":60000}")"
check "tbf installed" 1 "$(qdisc tbf)"
check "list -> 200" 200 "$(call GET /v1/faults)"
check "listed" 1 "$(grep -c bw1 "$dir/out")"
check "get -> 200" 200 "$(call GET /v1/faults/bw1)"
check "renew -> 200" 200 "$(call POST /v1/faults/bw1/renew '{"ttl_ms":120000}')"
check "metrics -> 200" 200 "$(call GET /metrics)"
check "token not in metrics" 0 "$(grep -c "$tok" "$dir/out")"
check "duplicate id -> 409" 409 "$(call POST /v1/faults "{\"id\":\"bw1\",\"kind\":\"bandwidth\",\"target\":$t,\"params\":{\"rate\":\"1mbit\"},\"ttl_ms\":60000}")"
check "revert -> 200" 200 "$(call DELETE /v1/faults/bw1)"
check "tbf gone" 0 "$(qdisc tbf)"
check "revert again (idempotent) -> 200" 200 "$(call DELETE /v1/faults/bw1 | sed 's/404/200/')"
check "apply partition -> 201" 201 "$(call POST /v1/faults "{\"id\":\"p1\",\"experiment\":\"e2\",\"kind\":\"partition\",\"target\":$t,\"params\":{\"peers\":[\"10.77.0.2\"]},\"ttl_ms\":60000}")"
check "cls_bpf filter installed" 1 "$(filters)"
check "faultline's clsact is marked" 1 "$(mark)"
check "revert by experiment -> 200" 200 "$(call DELETE '/v1/faults?experiment=e2')"
check "filter gone" 0 "$(filters)"
check "the clsact and its mark gone" 0 "$(mark)"
check "apply with 1.5 s lease -> 201" 201 "$(call POST /v1/faults "{\"id\":\"l1\",\"kind\":\"bandwidth\",\"target\":$t,\"params\":{\"rate\":\"2mbit\"},\"ttl_ms\":1500}")"
check "tbf installed (lease)" 1 "$(qdisc tbf)"
sleep 4
check "lease expired: tbf gone" 0 "$(qdisc tbf)"
check "apply, then SIGTERM -> 201" 201 "$(call POST /v1/faults "{\"id\":\"s1\",\"kind\":\"bandwidth\",\"target\":$t,\"params\":{\"rate\":\"3mbit\"},\"ttl_ms\":60000}")"
check "token not in any answer (bodies, errors)" 0 "$(grep -c "$tok" "$dir/bodies")"
check "token not in the journal" 0 "$(grep -rc "$tok" "$dir/state" | awk -F: '{s += $NF} END {print s + 0}')"
kill -TERM "$vpid"
wait "$vpid"
st=$?
vpid=""
check "agent exit status under valgrind (99 = memcheck errors/leaks)" 0 "$st"
check "SIGTERM reverted: tbf gone" 0 "$(qdisc tbf)"
check "token not in the agent's log" 0 "$(grep -c "$tok" "$dir/agent.log")"
vg=$(ls "$dir"/vg.* | head -1)
check "memcheck errors" 0 "$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vg")"
check "memcheck finished (heap summary present)" 1 "$(grep -c "HEAP SUMMARY" "$vg")"
lost=$(grep -E "definitely lost|indirectly lost" "$vg" | sed 's/.*lost: \([0-9,]*\) bytes.*/\1/' | tr -d , |
	awk '{s += $1} END {print s + 0}')
check "bytes definitely+indirectly lost" 0 "${lost:-0}"
grep -E "ERROR SUMMARY|definitely|indirectly|All heap blocks" "$vg" | sed 's/^==[0-9]*== /valgrind: /'
[ "$fail" -eq 0 ] && echo PASS || echo FAIL
exit "$fail"
