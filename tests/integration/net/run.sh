#!/bin/sh
# integration.net: the network faults for real on this machine's kernel, in network
# namespaces joined by a bridge (h1 10.77.0.1 dev e1 gets the faults; h2 .2, h3 .3):
# tbf caps a transfer, port scope leaves other ports alone, partition (cls_bpf) blocks
# only the chosen peer, revert restores the exact previous root qdisc (tc -j before/after),
# netns by name/PID, route-chosen interface, idempotent revert, and netem's pre-flight
# refusal on a kernel without sch_netem.
# With FAULTLINE_AGENT, also through the real agent: /v1/health names the missing
# sch_netem, a netem POST is refused with that reason and nothing is applied, a
# bandwidth POST + DELETE caps and restores.
# With FAULTLINE, experiments/examples/netns-partition-ipv6.json runs through `faultline run`.
# usage: run.sh FL_NETDRV FL_NETTOOL [FAULTLINE_AGENT [FAULTLINE]]    exit 0 pass, 1 fail, 77 skipped
set -u
D=${1:?fl-netdrv}; NT=${2:?fl-nettool}; AGENT=${3:-}; FL=${4:-}
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null && command -v tc >/dev/null || skip "needs iproute2"
P=flit$$
ip netns add ${P}sw 2>/dev/null || skip "cannot create network namespaces here"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for n in sw h1 h2 h3 tmp; do ip netns del ${P}$n 2>/dev/null; done
	rm -rf /tmp/$P.*
}
trap cleanup EXIT
FAIL=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAIL=1; }
ip -n ${P}sw link add br0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
ip -n ${P}sw link set br0 up
for i in 1 2 3; do
	ip netns add ${P}h$i
	ip link add e$i netns ${P}h$i type veth peer name p$i netns ${P}sw || skip "no veth support"
	ip -n ${P}sw link set p$i master br0; ip -n ${P}sw link set p$i up
	ip -n ${P}h$i addr add 10.77.0.$i/24 dev e$i
	ip -n ${P}h$i addr add fd77::$i/64 dev e$i nodad; ip -n ${P}h$i link set e$i up
	ip -n ${P}h$i link set lo up
done
ip netns exec ${P}h1 "$NT" serve 10.77.0.1 5003 >/dev/null & PIDS="$PIDS $!"
ip netns exec ${P}h1 "$NT" serve fd77::1 5003 >/dev/null & PIDS="$PIDS $!"
for i in 2 3; do
	for port in 5001 5002; do
		ip netns exec ${P}h$i "$NT" serve 10.77.0.$i $port >/dev/null & PIDS="$PIDS $!"
		ip netns exec ${P}h$i "$NT" serve fd77::$i $port >/dev/null & PIDS="$PIDS $!"
	done
done
sleep 0.3
U=/tmp/$P.undo
T="{\"netns\":\"${P}h1\",\"interface\":\"e1\"}"
nt() { ip netns exec ${P}h1 "$NT" "$@"; }
qshow() { tc -n ${P}h1 -j qdisc show dev e1; }
apply() { "$D" apply "$1" "$2" "$3" $U 2>/tmp/$P.err || fail "$1 apply $3: $(cat /tmp/$P.err)"; }
revert() { "$D" revert "$1" $U 2>/tmp/$P.err || fail "$1 revert: $(cat /tmp/$P.err)"; }
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

# 1) netem pre-flight: on a kernel without sch_netem, refuse with the reason
ip netns add ${P}tmp
if tc -n ${P}tmp qdisc add dev lo root netem delay 1ms 2>/dev/null; then
	echo "NOTE this kernel has sch_netem: the refusal check does not apply (tests/vm covers netem)"
	"$D" available netem >/dev/null 2>&1 && pass "netem available" || fail "netem available"
else
	WHY=$("$D" available netem 2>&1); rc=$?
	[ $rc = 1 ] && [ "$WHY" = "kernel has no sch_netem (modprobe sch_netem)" ] &&
		pass "netem pre-flight refuses: $WHY" || fail "netem pre-flight: rc $rc: $WHY"
fi
ip netns del ${P}tmp

# 2) tbf caps a transfer; revert restores noqueue exactly
BASE=$(nt tput 10.77.0.2 5001 0.5)
BEFORE=$(qshow)
apply bandwidth "$T" '{"rate":"8mbit"}'
R=$(nt tput 10.77.0.2 5001 1.5)
within "$R" 500000 1100000 && pass "tbf 8mbit caps: $BASE -> $R B/s" || fail "tbf 8mbit: $BASE -> $R B/s"
revert bandwidth
[ "$(qshow)" = "$BEFORE" ] && pass "revert restores $BEFORE" || fail "revert: $BEFORE -> $(qshow)"
"$D" revert bandwidth $U && [ "$(qshow)" = "$BEFORE" ] && pass "second revert is a no-op" || fail "second revert"

# 3) scope: only tcp dport 5001 to h2 is capped, 5002 untouched
apply bandwidth "$T" '{"rate":"8mbit","match":{"dst":"10.77.0.2","dport":5001,"protocol":"tcp"}}'
R1=$(nt tput 10.77.0.2 5001 1); R2=$(nt tput 10.77.0.2 5002 1)
within "$R1" 500000 1100000 && pass "scope: dport 5001 capped: $R1 B/s" || fail "scope 5001: $R1 B/s"
within "$R2" 5000000 1e15 && pass "scope: dport 5002 untouched: $R2 B/s" || fail "scope 5002: $R2 B/s"
tc -n ${P}h1 filter show dev e1 | grep -q 'flowid fa17:1' && pass "u32 filter steers to fa17:1" || fail "no u32 filter"
revert bandwidth
[ "$(qshow)" = "$BEFORE" ] && pass "revert after scope restores noqueue" || fail "revert after scope: $(qshow)"

# 4) existing root qdiscs come back exactly: tbf with its parameters, pfifo with its limit
for q in "tbf rate 50mbit burst 64kb latency 20ms" "pfifo limit 77" "bfifo limit 300000"; do
	tc -n ${P}h1 qdisc add dev e1 root handle 1: $q
	BEFORE=$(qshow)
	apply bandwidth "$T" '{"rate":"2mbit","burst":"32kb","limit":"64kb"}'
	qshow | grep -q '"handle":"fa17:"' || fail "tbf not applied over $q"
	revert bandwidth
	[ "$(qshow)" = "$BEFORE" ] && pass "restores $q exactly" || fail "restore $q: $BEFORE -> $(qshow)"
	tc -n ${P}h1 qdisc del dev e1 root
done
# a classful root with classes is refused, not replaced
tc -n ${P}h1 qdisc add dev e1 root handle 1: htb; tc -n ${P}h1 class add dev e1 parent 1: classid 1:1 htb rate 1mbit
if "$D" apply bandwidth "$T" '{"rate":"1mbit"}' $U 2>/tmp/$P.err; then fail "classful root replaced"
else pass "classful root refused: $(cat /tmp/$P.err)"; fi
tc -n ${P}h1 qdisc del dev e1 root
# so is a root with a qdisc grafted below it
tc -n ${P}h1 qdisc add dev e1 root handle 1: tbf rate 50mbit burst 64kb latency 20ms
tc -n ${P}h1 qdisc add dev e1 parent 1:1 handle 2: pfifo limit 10
if "$D" apply bandwidth "$T" '{"rate":"1mbit"}' $U 2>/tmp/$P.err; then fail "qdisc tree replaced"
else pass "qdisc tree refused: $(cat /tmp/$P.err)"; fi
tc -n ${P}h1 qdisc del dev e1 root

# 5) partition blocks only the chosen peer, both directions; cls_bpf leaves the root alone
BEFORE=$(qshow)
apply partition "$T" '{"peers":["10.77.0.2"]}'
nt reach 10.77.0.2 5001 500 && fail "partition: h1 reaches h2" || pass "partition: h1 cannot reach h2"
ip netns exec ${P}h2 "$NT" reach 10.77.0.1 5001 500 && fail "partition: h2 reaches h1" || pass "partition: h2 cannot reach h1"
nt reach 10.77.0.3 5001 1000 && pass "partition: h1 still reaches h3" || fail "partition: h3 unreachable"
# composes with a root fault on the same interface (own undo record)
"$D" apply bandwidth "$T" '{"rate":"8mbit"}' $U.2 2>/tmp/$P.err || fail "bandwidth with partition: $(cat /tmp/$P.err)"
nt reach 10.77.0.3 5001 1000 && nt reach 10.77.0.2 5001 300 || pass "partition + bandwidth compose"
"$D" revert bandwidth $U.2 || fail "revert bandwidth under partition"
revert partition
nt reach 10.77.0.2 5001 1000 && pass "partition reverted: h1 reaches h2" || fail "partition revert"
[ "$(qshow)" = "$BEFORE" ] && pass "no qdisc left after partition" || fail "left: $(qshow)"
tc -n ${P}h1 -j qdisc show dev e1 | grep -q clsact && fail "clsact left behind" || pass "clsact removed"

# 5b) IPv6 scope: only tcp dport 5001 to fd77::2 is capped; the same port over IPv4 and
# another IPv6 port are untouched (u32 "protocol ipv6" filters, offsets of the IPv6 header)
apply bandwidth "$T" '{"rate":"8mbit","match":{"dst":"fd77::2","dport":5001,"protocol":"tcp"}}'
R1=$(nt tput fd77::2 5001 1); R2=$(nt tput fd77::2 5002 1); R3=$(nt tput 10.77.0.2 5001 1)
within "$R1" 500000 1100000 && pass "v6 scope: [fd77::2]:5001 capped: $R1 B/s" || fail "v6 scope 5001: $R1 B/s"
within "$R2" 5000000 1e15 && pass "v6 scope: [fd77::2]:5002 untouched: $R2 B/s" || fail "v6 scope 5002: $R2 B/s"
within "$R3" 5000000 1e15 && pass "v6 scope: 10.77.0.2:5001 untouched: $R3 B/s" || fail "v6 scope v4 5001: $R3 B/s"
tc -n ${P}h1 filter show dev e1 | grep -q 'protocol ipv6 pref 251 u32' && pass "u32 ipv6 filter at pref 251" ||
	fail "no ipv6 filter: $(tc -n ${P}h1 filter show dev e1)"
revert bandwidth
[ "$(qshow)" = "$BEFORE" ] && pass "revert after v6 scope restores noqueue" || fail "revert after v6 scope: $(qshow)"

# 5c) IPv6 partition: h1 loses fd77::2 only (h2's IPv4 address and fd77::3 stay reachable)
apply partition "$T" '{"peers":["fd77::2"]}'
nt reach fd77::2 5001 500 && fail "v6 partition: h1 reaches fd77::2" || pass "v6 partition: h1 cannot reach fd77::2"
ip netns exec ${P}h2 "$NT" reach fd77::1 5001 500 && fail "v6 partition: h2 reaches h1" || pass "v6 partition: fd77::2 cannot reach h1"
nt reach 10.77.0.2 5001 1000 && pass "v6 partition: h2's IPv4 still reachable" || fail "v6 partition: 10.77.0.2 unreachable"
nt reach fd77::3 5001 1000 && pass "v6 partition: fd77::3 still reachable" || fail "v6 partition: fd77::3 unreachable"
revert partition
nt reach fd77::2 5001 1000 && pass "v6 partition reverted" || fail "v6 partition revert"

# 5d) one direction: "from" drops what the peer sends (clsact ingress, on h1's side) and lets
# h1's own packets out; "to" the reverse. One-way UDP counts, and TCP needs both ways.
oneway() { # FROM_NS TO_NS TO_ADDR -> datagrams received out of 30
	ip netns exec ${P}$2 "$NT" udprecv $3 6000 700 >/tmp/$P.recv & RP=$!
	sleep 0.2; ip netns exec ${P}$1 "$NT" udpsend $3 6000 30; wait $RP; tail -1 /tmp/$P.recv; }
for fam in 10.77.0 fd77:; do
	[ $fam = fd77: ] && { A1=fd77::1; A2=fd77::2; } || { A1=10.77.0.1; A2=10.77.0.2; }
	apply partition "$T" "{\"peers\":\"$A2\",\"direction\":\"from\"}"
	IN=$(oneway h2 h1 $A1); OUT=$(oneway h1 h2 $A2)
	[ "$IN" = 0 ] && [ "$OUT" -ge 25 ] && pass "partition from $A2: inbound $IN/30, outbound $OUT/30" ||
		fail "partition from $A2: inbound $IN/30, outbound $OUT/30"
	tc -n ${P}h1 filter show dev e1 egress | grep -q bpf && fail "direction from installed an egress filter" || true
	nt reach $A2 5001 500 && fail "partition from: TCP to $A2 works" || pass "partition from $A2: TCP fails (replies dropped)"
	revert partition
	apply partition "$T" "{\"peers\":\"$A2\",\"direction\":\"to\"}"
	IN=$(oneway h2 h1 $A1); OUT=$(oneway h1 h2 $A2)
	[ "$OUT" = 0 ] && [ "$IN" -ge 25 ] && pass "partition to $A2: outbound $OUT/30, inbound $IN/30" ||
		fail "partition to $A2: outbound $OUT/30, inbound $IN/30"
	revert partition
done
IN=$(oneway h2 h1 fd77::1)
[ "$IN" -ge 25 ] && pass "after revert: inbound $IN/30" || fail "after revert: inbound $IN/30"

# 5e) ingress: tbf on what e1 receives (ifb fl-e1 + clsact ingress u32/mirred redirect);
# outbound untouched; revert removes the ifb, the filters and the clsact it added
ingress_clean() { ! ip -n ${P}h1 link show fl-e1 >/dev/null 2>&1 &&
	[ -z "$(tc -n ${P}h1 filter show dev e1 ingress)" ] && [ "$(qshow)" = "$BEFORE" ]; }
BEFORE=$(qshow)
apply bandwidth "$T" '{"rate":"8mbit","direction":"ingress"}'
IN=$(ip netns exec ${P}h2 "$NT" tput 10.77.0.1 5003 1); OUT=$(nt tput 10.77.0.2 5001 1)
within "$IN" 500000 1100000 && within "$OUT" 5000000 1e15 && pass "ingress tbf 8mbit: in $IN B/s, out $OUT B/s" ||
	fail "ingress tbf: in $IN B/s, out $OUT B/s"
tc -n ${P}h1 qdisc show dev fl-e1 | grep -q 'tbf fa17:' && pass "ingress: tbf fa17: on ifb fl-e1" || fail "ingress: no tbf on fl-e1"
# proof of effect: the ifb's tbf and the redirect filter read back; without the filter, false
ing_effect() { "$D" effect bandwidth $U >/tmp/$P.eff && python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); q=[x for x in e.get("qdiscs",[]) if x["kind"]=="tbf" and x.get("dev")=="fl-e1"]; f=[x for x in e.get("filters",[]) if x.get("redirect")=="fl-e1" and x["count"]>=1]; sys.exit(0 if e.get("took_effect") is (sys.argv[2]=="true") and q and q[0]["rate_bit"]==8000000 and (sys.argv[2]=="false" or f) else 1)' /tmp/$P.eff "$1"; }
ing_effect true && pass "ingress effect read back: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"])' /tmp/$P.eff)" ||
	fail "ingress effect: $(cat /tmp/$P.eff)"
tc -n ${P}h1 filter del dev e1 ingress pref 252
ing_effect false && pass "ingress effect without the redirect filter: took_effect false" || fail "ingress effect without filter: $(cat /tmp/$P.eff)"
revert bandwidth
ingress_clean && pass "ingress revert: no ifb, no filter, qdiscs as before" ||
	fail "ingress revert left: $(ip -n ${P}h1 -br link; tc -n ${P}h1 filter show dev e1 ingress; qshow)"
# scoped, IPv4 and IPv6 sources of h2 only; h3 arrives at full speed; composes with an egress
# fault and a partition of h3's IPv6 address on the same interface
apply bandwidth "$T" '{"rate":"8mbit","direction":"ingress","match":{"src":["10.77.0.2","fd77::2"],"protocol":"tcp"}}'
"$D" apply bandwidth "$T" '{"rate":"16mbit","match":{"dst":"10.77.0.3"}}' $U.2 2>/tmp/$P.err || fail "egress with ingress: $(cat /tmp/$P.err)"
"$D" apply partition "$T" '{"peers":"fd77::3"}' $U.3 2>/tmp/$P.err || fail "partition with ingress: $(cat /tmp/$P.err)"
I2=$(ip netns exec ${P}h2 "$NT" tput 10.77.0.1 5003 1); I6=$(ip netns exec ${P}h2 "$NT" tput fd77::1 5003 1)
I3=$(ip netns exec ${P}h3 "$NT" tput 10.77.0.1 5003 1); O3=$(nt tput 10.77.0.3 5001 1)
within "$I2" 500000 1100000 && within "$I6" 500000 1100000 && within "$I3" 5000000 1e15 &&
	pass "scoped ingress: from h2 $I2 (v4) $I6 (v6) B/s capped, from h3 $I3 B/s not" ||
	fail "scoped ingress: from h2 $I2 $I6, from h3 $I3"
within "$O3" 1000000 2200000 && pass "egress 16mbit to h3 alongside: $O3 B/s" || fail "egress alongside ingress: $O3"
ip netns exec ${P}h3 "$NT" reach fd77::1 5003 500 && fail "partition alongside ingress" || pass "partition of fd77::3 alongside ingress"
# a second ingress fault on e1 is refused, naming the interface
if "$D" apply netem "$T" '{"delay":"10ms","direction":"ingress"}' $U.4 2>/tmp/$P.err ||
	"$D" apply bandwidth "$T" '{"rate":"1mbit","direction":"ingress"}' $U.4 2>/tmp/$P.err; then fail "second ingress fault accepted"
else grep -q 'dev e1 already carries faultline ingress fault' /tmp/$P.err && pass "second ingress fault refused: $(cat /tmp/$P.err)" ||
	fail "second ingress refusal: $(cat /tmp/$P.err)"; fi
"$D" revert partition $U.3 || fail "revert partition"
"$D" revert bandwidth $U.2 || fail "revert egress"
revert bandwidth
ingress_clean && pass "scoped ingress + egress + partition reverted: all gone" ||
	fail "left: $(ip -n ${P}h1 -br link; tc -n ${P}h1 filter show dev e1 ingress; qshow)"
# a clsact that was there stays, with its own filter; only faultline's pref goes
tc -n ${P}h1 qdisc add dev e1 clsact
tc -n ${P}h1 filter add dev e1 ingress pref 10 protocol arp u32 match u32 0 0 classid 1:1
F0=$(tc -n ${P}h1 filter show dev e1 ingress)
apply bandwidth "$T" '{"rate":"8mbit","direction":"ingress"}'
revert bandwidth
[ "$(tc -n ${P}h1 filter show dev e1 ingress)" = "$F0" ] && tc -n ${P}h1 qdisc show dev e1 | grep -q clsact &&
	pass "ingress on an existing clsact: its filter and clsact stay" || fail "existing clsact: $(tc -n ${P}h1 filter show dev e1 ingress)"
tc -n ${P}h1 qdisc del dev e1 clsact
# the describe text is iproute2 that runs
"$D" describe bandwidth "$T" '{"rate":"8mbit","direction":"ingress","match":{"src":"fd77::2","dport":5003,"protocol":"tcp"}}' |
	sed "s/^ip netns exec ${P}h1 //" >/tmp/$P.desc
while read -r line; do case $line in ip*) ip -n ${P}h1 ${line#ip } ;; tc*) tc -n ${P}h1 ${line#tc } ;; esac ||
	fail "describe line: $line"; done </tmp/$P.desc
tc -n ${P}h1 filter show dev e1 ingress | grep -q 'Egress Redirect to device fl-e1' && pass "ingress describe runs in tc: $(tr '\n' ';' </tmp/$P.desc)" ||
	fail "ingress describe via tc"
ip -n ${P}h1 link del fl-e1; tc -n ${P}h1 qdisc del dev e1 clsact

# 5f) a measured peer ("measure"): TCP connects from h1 to h2's listener before and after apply
meas() { python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); e=e.get("effect", e); m=e.get("measured") or {}; sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }
summary() { python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e.get("effect", e).get("summary"))' "$1"; }
M='"measure":{"peer":"10.77.0.2","port":5001}'
apply partition "$T" "{\"peers\":\"10.77.0.2\",$M}"
"$D" effect partition $U >/tmp/$P.eff
meas /tmp/$P.eff 'e["took_effect"] is True and m["rtt_before_ms"] > 0 and m.get("unreachable_after") is True and "rtt_after_ms" not in m' &&
	pass "partition with a measured peer: reachable before, unreachable after ($(summary /tmp/$P.eff))" || fail "partition measure: $(cat /tmp/$P.eff)"
revert partition
apply bandwidth "$T" "{\"rate\":\"8mbit\",$M}"
"$D" effect bandwidth $U >/tmp/$P.eff
meas /tmp/$P.eff 'e["took_effect"] is True and m["rtt_before_ms"] > 0 and m["rtt_after_ms"] > 0 and "unreachable_after" not in m' &&
	pass "tbf with a measured peer: both round trips ($(summary /tmp/$P.eff))" || fail "tbf measure: $(cat /tmp/$P.eff)"
revert bandwidth
E=$("$D" parse partition "$T" "{\"peers\":\"10.77.0.3\",$M}" 2>&1) && fail "measured peer outside the partition accepted" ||
	{ [ "$E" = '$.params.measure.peer: not among the partition'"'"'s peers: it would stay reachable' ] &&
	pass "measured peer outside the partition refused: $E" || fail "measure outside peers: $E"; }

# 5g) a partition someone else's filter shadows: a direct-action filter at pref 1 on both
# hooks passes every packet before faultline's (pref 250) runs. The read-back finds the
# partition's filters, but the measured peer still answers: took_effect turns false, with why
tc -n ${P}h1 qdisc add dev e1 clsact
for h in ingress egress; do tc -n ${P}h1 filter add dev e1 $h pref 1 bpf da bytecode '1,6 0 0 0,'; done
apply partition "$T" "{\"peers\":\"10.77.0.2\",$M}"
"$D" effect partition $U >/tmp/$P.eff
meas /tmp/$P.eff 'e["took_effect"] is False and e["note"] == "the measured peer still answers through the partition" and m["rtt_before_ms"] > 0 and m["rtt_after_ms"] > 0' &&
	pass "partition shadowed by a pref 1 filter: took_effect false ($(summary /tmp/$P.eff))" || fail "shadowed partition: $(cat /tmp/$P.eff)"
revert partition
tc -n ${P}h1 qdisc del dev e1 clsact

# 6) a second root fault on one interface is refused with a reason
apply bandwidth "$T" '{"rate":"8mbit"}'
if "$D" apply bandwidth "$T" '{"rate":"1mbit"}' $U.2 2>/tmp/$P.err; then fail "second fault accepted"
else pass "second fault refused: $(cat /tmp/$P.err)"; fi
revert bandwidth

# 7) netns by PID, interface by route
ip netns exec ${P}h1 sleep 30 & SP=$!; PIDS="$PIDS $SP"
sleep 0.1
apply bandwidth "{\"pid\":$SP,\"route_to\":\"10.77.0.3\"}" '{"rate":"8mbit"}'
qshow | grep -q '"kind":"tbf","handle":"fa17:"' && pass "pid + route_to target reaches h1's e1" || fail "pid target: $(qshow)"
revert bandwidth

# 8) revert after the namespace is gone succeeds (nothing left to undo)
ip netns add ${P}tmp; ip -n ${P}tmp link add d0 type veth peer name d1
apply bandwidth "{\"netns\":\"${P}tmp\",\"interface\":\"d0\"}" '{"rate":"8mbit"}'
ip netns del ${P}tmp
revert bandwidth && pass "revert after netns deletion"

# 8b) an ingress fault whose interface was deleted: revert still removes the ifb
ip netns add ${P}tmp; ip -n ${P}tmp link add d0 type veth peer name d1; ip -n ${P}tmp link set d0 up
apply bandwidth "{\"netns\":\"${P}tmp\",\"interface\":\"d0\"}" '{"rate":"8mbit","direction":"ingress"}'
ip -n ${P}tmp link show fl-d0 >/dev/null 2>&1 || fail "no ifb fl-d0"
ip -n ${P}tmp link del d0
revert bandwidth
ip -n ${P}tmp link show fl-d0 >/dev/null 2>&1 && fail "ifb fl-d0 left after its interface went" ||
	pass "ingress revert after the interface is gone removes the ifb"
ip netns del ${P}tmp

# 9) the dry-run description is real iproute2: running it gives the same qdisc as apply
DESC=$("$D" describe bandwidth "$T" '{"rate":"8mbit","burst":"32kb","limit":"64kb"}')
echo "$DESC" | sed "s/^ip netns exec ${P}h1 //" | while read -r line; do tc -n ${P}h1 ${line#tc } || echo "FAIL describe line: $line"; done
VIA_TC=$(qshow)
tc -n ${P}h1 qdisc del dev e1 root
apply bandwidth "$T" '{"rate":"8mbit","burst":"32kb","limit":"64kb"}'
[ "$(qshow)" = "$VIA_TC" ] && pass "describe == apply: $DESC" || fail "describe $VIA_TC != apply $(qshow)"
revert bandwidth

# 9b) a dry run (plan, then describe) names the device a route_to target resolves to
DRY=$("$D" dry bandwidth "{\"netns\":\"${P}h1\",\"route_to\":\"fd77::3\"}" '{"rate":"8mbit"}')
echo "$DRY" | head -1 | grep -q "^ip netns exec ${P}h1 tc qdisc replace dev e1 root handle fa17: tbf" &&
	! echo "$DRY" | grep -q 'dev routing' && pass "dry run resolves route_to fd77::3 to e1: $(echo "$DRY" | head -1)" ||
	fail "dry run route_to: $DRY"
[ "$(qshow)" = "$BEFORE" ] || fail "dry run changed the qdiscs: $(qshow)"

# 10) through the real agent (unix socket)
if [ -n "$AGENT" ] && [ -x "$AGENT" ] && command -v curl >/dev/null; then
	A=/tmp/$P.agent; mkdir -p $A
	(umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >$A/token)
	"$AGENT" --listen unix:$A/sock --token-file $A/token --state-dir $A/state 2>$A/log &
	AP=$!; PIDS="$PIDS $AP"
	i=0; until curl -sf --unix-socket $A/sock http://a/v1/health >$A/health 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05; done
	api() { curl -s -o $A/r -w '%{http_code}' --unix-socket $A/sock -X "$1" \
		-H "Authorization: Bearer $(cat $A/token)" ${3:+-d "$3"} "http://a$2"; }
	BEFORE=$(qshow)
	if grep -q '"netem":{"available":false,"reason":"kernel has no sch_netem (modprobe sch_netem)"}' $A/health; then
		C=$(api POST /v1/faults "{\"id\":\"n1\",\"experiment\":\"it\",\"kind\":\"netem\",\"target\":$T,\"params\":{\"delay\":\"100ms\"},\"ttl_ms\":60000}")
		[ "$C" != 201 ] && grep -q 'kernel has no sch_netem (modprobe sch_netem)' $A/r && [ "$(qshow)" = "$BEFORE" ] &&
			pass "agent refuses netem ($C): $(cat $A/r)" || fail "agent netem: $C $(cat $A/r)"
	elif grep -q '"netem":{"available":true' $A/health; then
		echo "NOTE this kernel has sch_netem: the agent's refusal check does not apply"
	else
		fail "agent health: $(cat $A/health)"
	fi
	C=$(api POST /v1/faults "{\"id\":\"b1\",\"experiment\":\"it\",\"kind\":\"bandwidth\",\"target\":$T,\"params\":{\"rate\":\"8mbit\"},\"ttl_ms\":60000}")
	R=$(nt tput 10.77.0.2 5001 1)
	[ "$C" = 201 ] && within "$R" 500000 1100000 && pass "agent bandwidth 8mbit caps: $R B/s" || fail "agent bandwidth: $C $(cat $A/r) $R"
	# proof of effect: the kernel's qdisc read back over netlink (201, GET, DELETE)
	effect_is() { python3 -c 'import json,sys; e=json.load(open(sys.argv[1])).get("effect") or {}; q=[x for x in e.get("qdiscs",[]) if x["kind"]=="tbf"]; sys.exit(0 if e.get("took_effect") is (sys.argv[2]=="true") and (sys.argv[2]=="false" or (q and q[0]["handle"]=="fa17:" and q[0]["rate_bit"]==8000000)) else 1)' $A/r "$1"; }
	effect_is true && pass "agent bandwidth 201 effect: tbf fa17: rate 8000000bit read back" || fail "agent bandwidth effect: $(cat $A/r)"
	C=$(api GET /v1/faults/b1)
	[ "$C" = 200 ] && effect_is true && pass "agent bandwidth GET effect read back live" || fail "agent GET effect: $C $(cat $A/r)"
	# a second root fault on e1: 409, and the reason names the fault that holds it and the interface
	C=$(api POST /v1/faults "{\"id\":\"b2\",\"experiment\":\"it\",\"kind\":\"bandwidth\",\"target\":$T,\"params\":{\"rate\":\"1mbit\"},\"ttl_ms\":60000}")
	[ "$C" = 409 ] && grep -q 'dev e1 already carries faultline fault \\"b1\\" (root qdisc tbf fa17:)' $A/r &&
		pass "agent refuses a second root fault naming b1 and e1: $(cat $A/r)" || fail "agent second fault: $C $(cat $A/r)"
	C=$(api DELETE /v1/faults/b1)
	[ "$C" = 200 ] && [ "$(qshow)" = "$BEFORE" ] && pass "agent DELETE restores $BEFORE" || fail "agent revert: $C $(qshow)"
	effect_is true && pass "agent DELETE carries the final effect" || fail "agent DELETE effect: $(cat $A/r)"
	# a measured partition through the agent: the 201 says reachable before, unreachable after;
	# the DELETE's final effect repeats that measure (kept) instead of waiting again before the revert
	C=$(api POST /v1/faults "{\"id\":\"m1\",\"experiment\":\"it\",\"kind\":\"partition\",\"target\":$T,\"params\":{\"peers\":\"10.77.0.2\",$M},\"ttl_ms\":60000}")
	[ "$C" = 201 ] && meas $A/r 'e["took_effect"] is True and m["rtt_before_ms"] > 0 and m.get("unreachable_after") is True' &&
		pass "agent partition 201: measured peer unreachable after ($(summary $A/r))" || fail "agent measured partition: $C $(cat $A/r)"
	T0=$(date +%s%N); C=$(api DELETE /v1/faults/m1); T1=$(date +%s%N)
	[ "$C" = 200 ] && meas $A/r 'e["took_effect"] is True and m.get("unreachable_after") is True' && [ $(((T1 - T0) / 1000000)) -lt 500 ] &&
		nt reach 10.77.0.2 5001 1000 && pass "agent DELETE: measure kept, revert not delayed ($(((T1 - T0) / 1000000)) ms)" ||
		fail "agent measured DELETE: $C $(((T1 - T0) / 1000000)) ms $(cat $A/r)"
	# ingress through the agent; a second one is refused naming the first; SIGKILL + restart
	# of the agent (reconcile from the journal) removes the ifb, the filters and the clsact
	C=$(api POST /v1/faults "{\"id\":\"i1\",\"experiment\":\"it\",\"kind\":\"bandwidth\",\"target\":$T,\"params\":{\"rate\":\"8mbit\",\"direction\":\"ingress\"},\"ttl_ms\":60000}")
	IN=$(ip netns exec ${P}h2 "$NT" tput 10.77.0.1 5003 1)
	[ "$C" = 201 ] && within "$IN" 500000 1100000 && pass "agent ingress bandwidth caps inbound: $IN B/s" || fail "agent ingress: $C $(cat $A/r) $IN"
	C=$(api POST /v1/faults "{\"id\":\"i2\",\"experiment\":\"it\",\"kind\":\"bandwidth\",\"target\":$T,\"params\":{\"rate\":\"1mbit\",\"direction\":\"ingress\"},\"ttl_ms\":60000}")
	[ "$C" = 409 ] && grep -q 'dev e1 already carries faultline ingress fault \\"i1\\"' $A/r &&
		pass "agent refuses a second ingress fault naming i1: $(cat $A/r)" || fail "agent second ingress: $C $(cat $A/r)"
	kill -9 $AP; wait $AP 2>/dev/null
	ip -n ${P}h1 link show fl-e1 >/dev/null 2>&1 || fail "ifb gone before the restart?"
	"$AGENT" --listen unix:$A/sock --token-file $A/token --state-dir $A/state 2>>$A/log &
	AP=$!; PIDS="$PIDS $AP"
	i=0; until curl -sf --unix-socket $A/sock http://a/v1/health >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05; done
	ingress_clean && pass "agent SIGKILL + restart: reconcile removed the ingress fault" ||
		fail "after SIGKILL + restart: $(ip -n ${P}h1 -br link; tc -n ${P}h1 filter show dev e1 ingress; qshow)"
	# an idle agent does not keep a deleted netns alive (its pooled netlink socket
	# there is freed within seconds): the veth peer left in sw goes with the netns
	ip netns add ${P}tmp; ip link add t0 netns ${P}tmp type veth peer name t1 netns ${P}sw
	ip -n ${P}tmp link set t0 up
	C=$(api POST /v1/faults "{\"id\":\"t1\",\"experiment\":\"it\",\"kind\":\"bandwidth\",\"target\":{\"netns\":\"${P}tmp\",\"interface\":\"t0\"},\"params\":{\"rate\":\"8mbit\"},\"ttl_ms\":60000}")
	# someone else removes the qdisc: the read-back says the fault has no effect now
	tc -n ${P}tmp qdisc del dev t0 root 2>/dev/null
	C2=$(api GET /v1/faults/t1)
	[ "$C2" = 200 ] && effect_is false && pass "qdisc removed behind the agent: effect took_effect false" || fail "effect after tc qdisc del: $C2 $(cat $A/r)"
	C2=$(api DELETE /v1/faults/t1)
	ip netns del ${P}tmp
	i=0; while ip -n ${P}sw link show t1 >/dev/null 2>&1 && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
	[ "$C" = 201 ] && [ "$C2" = 200 ] && ! ip -n ${P}sw link show t1 >/dev/null 2>&1 &&
		pass "a deleted netns is freed with the agent idle (after $((i / 10)) s)" ||
		fail "deleted netns kept alive: $C $C2 $(ip -n ${P}sw -br link show t1)"
	kill $AP
else
	echo "NOTE no faultline-agent given: the agent path is not checked here"
fi

# 11) experiments/examples/netns-partition-ipv6.json through `faultline run` (embedded agent):
# deviates while the IPv6 partition (inbound) is live, holds before and after, leaves nothing
if [ -n "$FL" ] && [ -x "$FL" ] && command -v python3 >/dev/null; then
	EX=$(cd "$(dirname "$0")/../../.." && pwd)/experiments/examples/netns-partition-ipv6.json
	BEFORE=$(qshow)
	FL_NETNS=${P}h1 FL_IFACE=e1 FL_PEER=fd77::2 FL_PORT=5001 FL_NETTOOL=$NT NO_COLOR=1 \
		"$FL" run --journal /tmp/$P.journal.json "$EX" >/tmp/$P.out 2>&1; rc=$?
	python3 - /tmp/$P.journal.json <<'PY' && [ $rc = 1 ] && pass "example netns-partition-ipv6: deviated during the fault, held after (rc $rc)" ||
import json, sys
j = json.load(open(sys.argv[1]))
probes = {p["activity"]["name"]: p for p in j["steady_states"]["after"]["probes"]}
ok = (j["deviated"] is True and j["steady_states"]["before"]["steady_state_met"] is True
      and probes["peer echo over IPv6"]["tolerance_met"] is True
      and j["run"][0]["status"] == "succeeded"
      and 'probe "echoes while the fault is live": success ratio 0 ' in j["reason"])
sys.exit(0 if ok else 1)
PY
		fail "example netns-partition-ipv6: rc $rc: $(tail -20 /tmp/$P.out)"
	# proof of effect: the partition's cls_bpf filter read back before its revert
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); e=j["fault_effects"][0]["effect"]; f=e["filters"]; sys.exit(0 if e["took_effect"] is True and f and all(x["count"] >= 1 for x in f) and "faults_without_effect" not in j else 1)' /tmp/$P.journal.json &&
		grep -q "took effect: clsact ingress: [1-9][0-9]* bpf filter" /tmp/$P.out &&
		pass "example: the partition's filter read back as its effect ($(grep -o 'took effect: .*' /tmp/$P.out))" ||
		fail "example partition effect: $(grep -o '"fault_effects".*' /tmp/$P.journal.json | head -c 600) $(grep effect /tmp/$P.out)"
	[ "$(qshow)" = "$BEFORE" ] && [ -z "$(tc -n ${P}h1 filter show dev e1 ingress)" ] &&
		pass "example left no filter or qdisc" || fail "example left: $(tc -n ${P}h1 filter show dev e1 ingress) $(qshow)"
else
	echo "NOTE no faultline controller given: the example experiment is not run here"
fi

[ $FAIL = 0 ] && echo "integration.net: PASS" || echo "integration.net: FAIL"
exit $FAIL
