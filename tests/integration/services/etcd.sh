#!/bin/sh
# etcd (Debian package etcd-server, installed by this harness when missing),
# 3 members on loopback:
#  1. kill the leader: a new leader is elected and writes succeed within the
#     bound: a client retrying each write has it acknowledged within 4 s, and
#     the slowest such write waited for the election (>= 0.5 s), so the bound
#     was put to the test (the experiment holds, exit 0);
#  2. pause two members: writes fail without a quorum (deviated, exit 1) and
#     succeed again after the pauses end (the after probe holds).
. "$(dirname "$0")/lib.sh"

need_pkg etcd-server etcd
need_pkg etcd-client etcdctl
export ETCDCTL_API=3

# start_cluster: three members m1..m3; sets ENDPOINTS, pidfiles $T/m?.pid.
start_cluster() {
	cluster=""
	for m in 1 2 3; do
		eval "C$m=\$(free_port)"
		eval "P$m=\$(free_port)"
		eval "cluster=\"\${cluster:+\$cluster,}m$m=http://127.0.0.1:\$P$m\""
	done
	tok="fl-$$-$(date +%s%N)"
	for m in 1 2 3; do
		eval "c=\$C$m p=\$P$m"
		rm -rf "$T/m$m"
		etcd --name "m$m" --data-dir "$T/m$m" \
			--listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
			--listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
			--initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "$tok" \
			--heartbeat-interval 100 --election-timeout 1000 >"$T/m$m.log" 2>&1 &
		echo $! >"$T/m$m.pid"
		PIDS="$PIDS $!"
	done
	ENDPOINTS="http://127.0.0.1:$C1,http://127.0.0.1:$C2,http://127.0.0.1:$C3"
	i=0
	until etcdctl --endpoints="$ENDPOINTS" --command-timeout=1s put faultline/ready 1 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 40 ] || skip "the etcd cluster did not form: $(tail -2 "$T/m1.log")"
		sleep 0.25
	done
}

stop_cluster() {
	for m in 1 2 3; do
		p=$(cat "$T/m$m.pid")
		kill -CONT "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# leader: the member number (1..3) that leads now.
leader() {
	etcdctl --endpoints="$ENDPOINTS" --command-timeout=2s endpoint status -w json 2>/dev/null |
		python3 -c '
import json, sys
for i, e in enumerate(json.load(sys.stdin)):
    h = e["Status"]["header"]
    if h["member_id"] == e["Status"]["leader"]:
        print(e["Endpoint"])' | head -1
}

# 1. Kill the leader.
start_cluster
lep=$(leader)
[ -n "$lep" ] || fail "no leader in the new cluster"
for m in 1 2 3; do
	eval "c=\$C$m"
	[ "$lep" = "http://127.0.0.1:$c" ] && L=$m
done
cp "$T/m$L.pid" "$T/leader.pid"
lpid=$(cat "$T/leader.pid")
ETCD_ENDPOINTS=$ENDPOINTS ETCD_LEADER_PIDFILE="$T/leader.pid" \
	run_fl run --journal leader.json "$SRC/experiments/examples/etcd-leader-kill.json"
summary "$T/leader.json"
expect_rc 0
jassert "$T/leader.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'd("writes during the election")["output"]["samples"] >= 15' \
	'd("writes during the election")["output"]["success_ratio"] >= 0.7' \
	'd("writes during the election")["tolerance_met"] is True' \
	'd("every write is acknowledged within 4 s")["output"]["samples"] >= 15' \
	'd("every write is acknowledged within 4 s")["output"]["failed"] == 0' \
	'd("every write is acknowledged within 4 s")["output"]["latency_ms"]["max"] < 4000' \
	'd("every write is acknowledged within 4 s")["output"]["latency_ms"]["max"] >= 500' \
	'd("every write is acknowledged within 4 s")["tolerance_met"] is True' \
	'[p["tolerance_met"] for p in j["steady_states"]["after"]["probes"]] == [True, True]'
kill -0 "$lpid" 2>/dev/null && fail "the leader ($lpid) was not killed"
nl=$(leader)
[ -n "$nl" ] && [ "$nl" != "$lep" ] || fail "no new leader after the run (was $lep, now '$nl')"
echo "new leader: $nl (was $lep)"
stop_cluster

# 2. Pause two members.
start_cluster
ETCD_ENDPOINTS=$ENDPOINTS ETCD_A_PIDFILE="$T/m2.pid" ETCD_B_PIDFILE="$T/m3.pid" \
	run_fl run --journal quorum.json "$SRC/experiments/examples/etcd-pause-quorum.json"
summary "$T/quorum.json"
expect_rc 1
jassert "$T/quorum.json" \
	'j["status"] == "completed" and j["deviated"] is True' \
	'd("writes without a quorum")["output"]["samples"] >= 6' \
	'd("writes without a quorum")["output"]["failed"] >= 4' \
	'd("writes without a quorum")["tolerance_met"] is False' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is True' \
	'j["steady_states"]["after"]["probes"][0]["activity"]["name"].startswith("writes succeed again")' \
	'"writes without a quorum" in j["reason"]'
for m in 2 3; do
	grep -q '^State:[[:space:]]*T' "/proc/$(cat "$T/m$m.pid")/status" && fail "member m$m is still stopped"
done
etcdctl --endpoints="$ENDPOINTS" --command-timeout=3s put faultline/after ok >/dev/null ||
	fail "writes do not succeed after the run"
stop_cluster
echo "PASS: etcd leader kill held; quorum loss deviated and recovered"
