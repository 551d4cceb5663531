#!/bin/sh
# /init of the user-mode-linux guest (tests/vm/run.sh boots it with the host's / read-only).
# Real netem, tbf, u32 scope (IPv4, IPv6), ingress (ifb) and cls_bpf partition through faultline's fault code
# (fl-netdrv), measured with fl-nettool between network namespaces joined by a bridge:
#   h1 10.99.0.1 (where faults go, dev e1)   h2 10.99.0.2   h3 10.99.0.3   sw: br0
# Prints "VM: PASS|FAIL <check>: detail" lines and one "VM-RESULT: PASS|FAIL" verdict.
# Settings come from the kernel command line: BIN (fl-netdrv, fl-nettool dir),
# AGENT (faultline-agent, or empty: then the fault ops are driven by fl-netdrv),
# BENCH (fl-bench-net or empty), HOSTDIR (results dir, mounted rw through hostfs).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp # hide the host's (hostfs writes are real)
[ -n "${HOSTDIR:-}" ] && mount -t hostfs none "$HOSTDIR" -o "$HOSTDIR"
# The build may live under the host's /tmp or /run (a CI clone often does), which the
# tmpfs mounts above just hid: bring it back, read-only, through hostfs.
if [ -n "${BUILDDIR:-}" ] && [ ! -d "$BUILDDIR" ]; then
	mkdir -p "$BUILDDIR" && mount -t hostfs none "$BUILDDIR" -o ro,"$BUILDDIR"
fi
FAIL=0
pass() { echo "VM: PASS $*"; }
fail() { echo "VM: FAIL $*"; FAIL=1; }
finish() {
	[ $FAIL = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
	sync; busybox poweroff -f
}
echo "VM: booted, kernel $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime)s"

# The UML kernel's modules; the host may have no /lib/modules to bind over, so use -d.
mkdir -p /tmp/m/lib/modules && mount --bind /usr/lib/uml/modules /tmp/m/lib/modules &&
	modprobe -d /tmp/m -a veth bridge sch_netem sch_htb sch_tbf cls_u32 sch_fq_codel ||
	{ fail "modprobe"; finish; }
# sch_ingress and cls_bpf come later: first the partition's fallback is checked without them
# (the kernel cannot autoload them: its modprobe finds no /lib/modules for this kernel).

ip() { /sbin/ip "$@"; }  # busybox applets would shadow iproute2 in ash; be explicit
tc() { /sbin/tc "$@"; }
D=$BIN/fl-netdrv
NT=$BIN/fl-nettool
ip link set lo up
ip netns add sw; ip -n sw link add br0 type bridge; ip -n sw link set br0 up; ip -n sw link set lo up
for i in 1 2 3; do
	ip netns add h$i
	ip link add e$i netns h$i type veth peer name p$i netns sw
	ip -n sw link set p$i master br0; ip -n sw link set p$i up
	ip -n h$i addr add 10.99.0.$i/24 dev e$i; ip -n h$i addr add fd99::$i/64 dev e$i nodad
	ip -n h$i link set e$i up; ip -n h$i link set lo up
done
for i in 2 3; do ip netns exec h$i "$NT" serve 10.99.0.$i 5001 >/dev/null & eval "S$i=\$!"
	ip netns exec h$i "$NT" serve 10.99.0.$i 5002 >/dev/null &
	ip netns exec h$i "$NT" serve fd99::$i 5001 >/dev/null & done
sleep 0.5
nt() { ip netns exec h1 "$NT" "$@"; }
qshow() { ip netns exec h1 /sbin/tc -j qdisc show dev e1; }
U=/run/undo.json
T='{"netns":"h1","interface":"e1"}'
N=0
if [ -n "${AGENT:-}" ] && [ -x "$AGENT" ] && command -v curl >/dev/null; then
	# The real agent on a unix socket: POST /v1/faults, DELETE /v1/faults/ID.
	MODE=agent
	(umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >/run/token)
	start_agent() {
		"$AGENT" --listen unix:/run/fl.sock --token-file /run/token --state-dir /run/state \
			2>>/run/agent.log &
		AP=$!
		i=0; until curl -sf --unix-socket /run/fl.sock http://agent/v1/health >/run/health 2>/dev/null; do
			i=$((i + 1)); [ $i -gt 100 ] && { fail "agent did not start: $(tail -3 /run/agent.log)"; finish; }
			sleep 0.1; done
	}
	start_agent
	api() { # METHOD PATH [BODY] -> body in /run/r, prints the HTTP status
		curl -s -o /run/r -w '%{http_code}' --unix-socket /run/fl.sock -X "$1" \
			-H "Authorization: Bearer $(cat /run/token)" ${3:+-d "$3"} "http://agent$2"; }
	post() { # ID KIND TARGET PARAMS (in a subshell: the caller picks the id)
		api POST /v1/faults "{\"id\":\"$1\",\"experiment\":\"vm\",\"kind\":\"$2\",\"target\":$3,\"params\":$4,\"ttl_ms\":120000}"; }
	apply() { N=$((N + 1)); ID=f$N
		[ "$(post $ID "$1" "$2" "$3")" = 201 ] || fail "$1 apply $3: $(cat /run/r)"; }
	revert() { [ "$(api DELETE /v1/faults/$ID)" = 200 ] || fail "$1 revert $ID: $(cat /run/r)"; }
	effect() { api GET /v1/faults/$ID >/dev/null; tr -d ' \n' </run/r >/run/eff; } # KIND
else
	MODE=driver
	apply() { "$D" apply "$1" "$2" "$3" $U 2>/run/e || fail "$1 apply: $3: $(cat /run/e)"; }
	revert() { "$D" revert "$1" $U 2>/run/e || fail "$1 revert: $(cat /run/e)"; }
	effect() { "$D" effect "$1" $U | tr -d ' \n' >/run/eff; }
fi
echo "VM: faults applied through: $MODE"
# |got - base - want| <= want*10% + 5 ms
near() { awk -v g="$1" -v b="$2" -v w="$3" 'BEGIN { d = g - b - w; if (d < 0) d = -d; exit !(d <= w * 0.1 + 5) }'; }

if [ $MODE = agent ]; then
	grep -q '"netem":{"available":true}' /run/health && pass "preflight (agent /v1/health): netem available" ||
		fail "agent health: $(cat /run/health)"
else
	"$D" available netem >/run/e 2>&1 && pass "preflight: netem available" || fail "preflight: netem: $(head -c 600 /run/e)"
fi

B=$(nt rtt 10.99.0.2 5001 20); B3=$(nt rtt 10.99.0.2 5002 20)
echo "VM: baseline rtt ${B}ms (5001) ${B3}ms (5002)"
[ -n "$B" ] || { fail "baseline rtt"; finish; }

# 1) delay raises the TCP round trip by the set amount; revert restores noqueue exactly
BEFORE=$(qshow)
apply netem "$T" '{"delay":"100ms"}'
if [ $MODE = agent ]; then
	# proof of effect: the 201's effect is the netem qdisc read back from the kernel
	grep -q '"took_effect": *true' /run/r && grep -q '"delay_us": *100000[,}]' /run/r &&
		grep -q '"handle": *"fa17:"' /run/r &&
		pass "agent effect: netem fa17: delay_us 100000 read back" || fail "agent netem effect: $(cat /run/r)"
fi
R=$(nt rtt 10.99.0.2 5001 10)
near "$R" "$B" 100 && pass "delay 100ms: rtt $B -> $R ms" || fail "delay 100ms: rtt $B -> $R ms"
revert netem
[ "$(qshow)" = "$BEFORE" ] && pass "revert restores: $BEFORE" || fail "revert: $BEFORE -> $(qshow)"
# 1b) a measured peer: the round trip the agent measures from h1 grows by about the delay
apply netem "$T" '{"delay":"100ms","measure":{"peer":"10.99.0.2","port":5001}}'
effect netem
MB=$(sed -n 's/.*"rtt_before_ms":\([0-9.e-]*\).*/\1/p' /run/eff); MA=$(sed -n 's/.*"rtt_after_ms":\([0-9.e-]*\).*/\1/p' /run/eff)
grep -q '"took_effect":true' /run/eff && [ -n "$MB" ] && [ -n "$MA" ] && near "$MA" "$MB" 100 &&
	pass "netem measured peer: rtt $MB -> $MA ms" || fail "netem measure: $(cat /run/eff)"
revert netem

# 2) the same with jitter + distribution + 64-bit attributes path, delay 50ms
apply netem "$T" '{"delay":"50ms","jitter":"1ms","distribution":"normal"}'
R=$(nt rtt 10.99.0.2 5001 20)
near "$R" "$B" 50 && pass "delay 50ms jitter 1ms normal: rtt $B -> $R ms" || fail "delay 50ms normal: rtt $B -> $R"
ip netns exec h1 /sbin/tc qdisc show dev e1 | grep -q 'delay 50ms  1ms' && pass "tc reads back delay 50ms 1ms" ||
	fail "tc shows: $(ip netns exec h1 /sbin/tc qdisc show dev e1)"
revert netem

# 3) loss drops the set share within statistical bounds (n=2000, p=0.2: sd 0.009; +-0.045 = 5 sd)
apply netem "$T" '{"loss":"20%"}'
L=$(nt loss 10.99.0.2 5001 2000)
awk -v l="$L" 'BEGIN { exit !(l >= 0.155 && l <= 0.245) }' && pass "loss 20%: lost share $L" || fail "loss 20%: lost share $L"
revert netem

# 3b) Gilbert-Elliott: p 10%, r 30%, 1-h 90%, 1-k 0% spends p/(p+r) = 1/4 of the
# packets in the bad state and drops 90% there: 0.225 expected. Losses come in
# bursts (mean 1/r = 3.3), so the spread is about twice the Bernoulli one
# (sd ~0.02): +-0.07. Sending tc-netem's "1-h" as the kernel's h unconverted
# would drop 10% in the bad state: 0.025.
apply netem "$T" '{"gemodel":{"p":"10%","r":"30%","1-h":"90%","1-k":"0%"}}'
L=$(nt loss 10.99.0.2 5001 2000)
G=$(ip netns exec h1 /sbin/tc qdisc show dev e1 | grep -o 'loss gemodel.*' | head -1)
awk -v l="$L" 'BEGIN { exit !(l >= 0.155 && l <= 0.295) }' && pass "gemodel p 10% r 30% 1-h 90%: lost share $L (tc: $G)" ||
	fail "gemodel p 10% r 30% 1-h 90%: lost share $L, want 0.225 (tc: $G)"
revert netem

# 4) rate caps a transfer (netem rate 2mbit = 250000 B/s)
apply netem "$T" '{"rate":"2mbit"}'
R=$(nt tput 10.99.0.2 5001 2)
awk -v r="$R" 'BEGIN { exit !(r > 250000 * 0.5 && r < 250000 * 1.1) }' && pass "netem rate 2mbit: $R B/s" || fail "netem rate 2mbit: $R B/s"
revert netem

# 5) port scope: only dport 5001 is delayed, 5002 untouched
apply netem "$T" '{"delay":"100ms","match":{"dst":"10.99.0.2","dport":5001,"protocol":"tcp"}}'
R=$(nt rtt 10.99.0.2 5001 10); R2=$(nt rtt 10.99.0.2 5002 10)
near "$R" "$B" 100 && pass "scope dport 5001: rtt $B -> $R ms" || fail "scope dport 5001: rtt $B -> $R"
near "$R2" "$B3" 0 && pass "scope leaves 5002 untouched: rtt $B3 -> $R2 ms" || fail "scope 5002: rtt $B3 -> $R2"
revert netem
[ "$(qshow)" = "$BEFORE" ] && pass "revert after scope restores noqueue" || fail "revert after scope: $(qshow)"

# 5b) IPv6 scope: only packets to fd99::2 are delayed; h2's IPv4 address is not
B6=$(nt rtt fd99::2 5001 20)
apply netem "$T" '{"delay":"100ms","match":{"dst":"fd99::2/128"}}'
R=$(nt rtt fd99::2 5001 10); R4=$(nt rtt 10.99.0.2 5001 10)
near "$R" "$B6" 100 && pass "v6 scope fd99::2: rtt $B6 -> $R ms" || fail "v6 scope: rtt $B6 -> $R"
near "$R4" "$B" 0 && pass "v6 scope leaves IPv4 untouched: rtt $B -> $R4 ms" || fail "v6 scope v4: rtt $B -> $R4"
revert netem
[ "$(qshow)" = "$BEFORE" ] && pass "revert after v6 scope restores noqueue" || fail "revert after v6 scope: $(qshow)"

# 6a) without clsact/cls_bpf the pre-flight picks netem's loss branch (direction "to" only)
BEFORE=$(qshow)
apply partition "$T" '{"peers":"10.99.0.2","direction":"to"}'
[ $MODE = driver ] && cp $U /run/r
grep -q '"mechanism":"netem"' /run/r && pass "partition without cls_bpf: mechanism netem" ||
	fail "partition fallback: $(cat /run/r)"
nt reach 10.99.0.2 5001 1000 && fail "netem partition: h1 reaches h2" || pass "netem partition: h1 cannot reach h2"
nt reach 10.99.0.3 5001 1000 && pass "netem partition: h1 still reaches h3" || fail "netem partition: h3 unreachable"
effect partition # its proof of effect: the netem loss 100% leaf and the u32 filter read back
grep -q '"took_effect":true' /run/eff && grep -q '"kind":"netem","handle":"fa18:"[^}]*"loss_pct":100[,}]' /run/eff &&
	grep -q '"parent":"fa17:","kind":"u32","pref":250,"count":1' /run/eff &&
	pass "netem partition effect read back: $(sed 's/.*"summary":"\([^"]*\)".*/\1/' /run/eff)" ||
	fail "netem partition effect: $(cat /run/eff)"
revert partition
[ "$(qshow)" = "$BEFORE" ] && pass "netem partition reverted exactly" || fail "netem partition revert: $(qshow)"
if [ $MODE = agent ]; then
	C=$(post both partition "$T" '{"peers":"10.99.0.2"}')
	[ "$C" != 201 ] && grep -q 'kernel has no clsact with cls_bpf' /run/r &&
		pass "partition both ways refused without cls_bpf ($C): $(cat /run/r)" || fail "partition both: $C $(cat /run/r)"
fi
# 6b) an ingress fault needs ifb + act_mirred, not loaded yet: refused in plan with the reason
if [ $MODE = agent ]; then
	C=$(post ingress0 netem "$T" '{"delay":"10ms","direction":"ingress"}')
	[ "$C" != 201 ] && grep -q 'kernel has no ifb (modprobe ifb)' /run/r && [ "$(qshow)" = "$BEFORE" ] &&
		pass "ingress refused without ifb ($C): $(cat /run/r)" || fail "ingress without ifb: $C $(cat /run/r)"
else
	"$D" apply netem "$T" '{"delay":"10ms","direction":"ingress"}' /run/ui.json 2>/run/e &&
		fail "ingress accepted without ifb" || { grep -q 'kernel has no ifb (modprobe ifb)' /run/e &&
		pass "ingress refused without ifb: $(cat /run/e)" || fail "ingress without ifb: $(cat /run/e)"; }
fi
# ... and the controller's pre-flight refuses the run before anything is applied (exit 2)
FLC=${BUILDDIR:+$BUILDDIR/controller/faultline}
if [ -n "$FLC" ] && [ -x "$FLC" ]; then
	cat >/run/ingress.json <<EOF
{"title": "ingress without ifb", "description": "pre-flight",
 "steady-state-hypothesis": {"title": "up", "probes": [{"type": "probe", "name": "true",
   "tolerance": 0, "provider": {"type": "process", "path": "/bin/true"}}]},
 "method": [{"type": "action", "name": "slow-in", "provider": {"type": "fault", "kind": "bandwidth",
   "target": $T, "params": {"rate": "1mbit", "direction": "ingress"}, "duration": "5s"}}]}
EOF
	BEFORE_PF=$(qshow)
	(cd /run && "$FLC" run --journal /run/ingress-journal.json /run/ingress.json >/run/pf.out 2>&1); RC=$?
	[ $RC = 2 ] && grep -q 'cannot do ingress "bandwidth" here: kernel has no ifb with act_mirred' /run/pf.out &&
		[ "$(qshow)" = "$BEFORE_PF" ] && pass "controller pre-flight refuses ingress without ifb (exit 2)" ||
		fail "pre-flight ingress: rc $RC $(tail -5 /run/pf.out)"
fi
modprobe -d /tmp/m -a sch_ingress cls_bpf ifb act_mirred || fail "modprobe sch_ingress cls_bpf ifb act_mirred"

# 6c) ingress netem (ifb + mirred): packets arriving from h2 are delayed 100 ms, so the round
# trip h1 measures to h2 rises by 100 ms; replies from h3 (not matched) arrive on time
BH3=$(nt rtt 10.99.0.3 5001 20)
apply netem "$T" '{"delay":"100ms","direction":"ingress","match":{"src":"10.99.0.2"}}'
R=$(nt rtt 10.99.0.2 5001 10); R3=$(nt rtt 10.99.0.3 5001 10)
near "$R" "$B" 100 && pass "ingress delay 100ms from h2: rtt $B -> $R ms" || fail "ingress delay: rtt $B -> $R ms"
near "$R3" "$BH3" 0 && pass "ingress scope leaves h3 alone: rtt $BH3 -> $R3 ms" || fail "ingress scope h3: $BH3 -> $R3"
ip netns exec h1 /sbin/tc qdisc show dev fl-e1 | grep -q 'netem fa17:' && pass "ingress: netem on ifb fl-e1" ||
	fail "ingress: $(ip netns exec h1 /sbin/tc qdisc show)"
effect netem # its proof of effect: netem on the ifb and the redirect filter read back
grep -q '"took_effect":true' /run/eff && grep -q '"kind":"netem","handle":"fa17:","dev":"fl-e1","delay_us":100000' /run/eff &&
	grep -q '"hook":"ingress","kind":"u32","pref":252,"count":1,"redirect":"fl-e1"' /run/eff &&
	pass "ingress netem effect read back: $(sed 's/.*"summary":"\([^"]*\)".*/\1/' /run/eff)" ||
	fail "ingress netem effect: $(cat /run/eff)"
revert netem
ip -n h1 link show fl-e1 >/dev/null 2>&1 && fail "ifb left after revert" || pass "ingress revert removed ifb fl-e1"
[ -z "$(ip netns exec h1 /sbin/tc filter show dev e1 ingress)" ] && [ "$(qshow)" = "$BEFORE" ] &&
	pass "ingress revert: no filter, root qdisc as before" || fail "ingress revert left: $(ip netns exec h1 /sbin/tc filter show dev e1 ingress) $(qshow)"

# 6) partition blocks only the chosen peer (h2), both directions; h3 stays reachable
apply partition "$T" '{"peers":["10.99.0.2/32"]}'
nt reach 10.99.0.2 5001 1000 && fail "partition: h1 still reaches h2" || pass "partition: h1 cannot reach h2"
ip netns exec h2 "$NT" reach 10.99.0.1 5001 1000 && fail "partition: h2 reaches h1" || pass "partition: h2 cannot reach h1"
nt reach 10.99.0.3 5001 1000 && pass "partition: h1 still reaches h3" || fail "partition: h1 cannot reach h3"
revert partition
nt reach 10.99.0.2 5001 2000 && pass "partition reverted: h1 reaches h2" || fail "partition revert: h2 unreachable"

# 7) an existing root qdisc (fq_codel with its parameters) comes back exactly; tbf caps
ip netns exec h1 /sbin/tc qdisc add dev e1 root handle 1: fq_codel limit 2000 target 3ms interval 50ms
BEFORE=$(qshow)
apply bandwidth "$T" '{"rate":"4mbit"}'
R=$(nt tput 10.99.0.2 5001 2)
awk -v r="$R" 'BEGIN { exit !(r > 500000 * 0.5 && r < 500000 * 1.1) }' && pass "tbf 4mbit: $R B/s" || fail "tbf 4mbit: $R B/s"
revert bandwidth
[ "$(qshow)" = "$BEFORE" ] && pass "revert restores fq_codel: $BEFORE" || fail "revert fq_codel: $BEFORE -> $(qshow)"
apply netem "$T" '{"delay":"20ms","loss":"1%","duplicate":"1%","corrupt":"0.1%","reorder":"5%","gap":3,"limit":500}'
qshow | grep -q '"handle":"fa17:"' && pass "netem with every knob accepted by the kernel" || fail "netem all knobs"
revert netem
[ "$(qshow)" = "$BEFORE" ] && pass "revert restores fq_codel after netem" || fail "revert fq_codel after netem: $(qshow)"

# 8) netem + bandwidth compose (netem at the root fa17:, tbf below it at fa19:), in either
# order; either one leaves the other as it was; the last one out restores fq_codel exactly;
# a third fault, and a second one of a kind, are refused naming the holders and e1
if [ $MODE = agent ]; then
	del() { [ "$(api DELETE /v1/faults/$1)" = 200 ] || fail "revert $1: $(cat /run/r)"; }
	tput_in() { awk -v r="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(r >= lo && r <= hi) }'; }
	BEFORE=$(qshow)
	for order in netem-first bandwidth-first; do
		if [ $order = netem-first ]; then
			apply netem "$T" '{"delay":"100ms"}'; NE=$ID; apply bandwidth "$T" '{"rate":"2mbit"}'; BW=$ID
		else
			apply bandwidth "$T" '{"rate":"2mbit"}'; BW=$ID; apply netem "$T" '{"delay":"100ms"}'; NE=$ID
		fi
		Q=$(qshow)
		echo "$Q" | grep -q '"kind":"netem","handle":"fa17:","root":true' && echo "$Q" | grep -q '"kind":"tbf","handle":"fa19:","parent":"fa17:1"' &&
			pass "$order: netem root fa17: + tbf fa19: below it" || fail "$order: tree $Q"
		R=$(nt rtt 10.99.0.2 5001 10); X=$(nt tput 10.99.0.2 5001 2)
		near "$R" "$B" 100 && tput_in "$X" 75000 275000 && pass "$order: both live: rtt $B -> $R ms, $X B/s (2mbit)" ||
			fail "$order: both live: rtt $B -> $R ms, $X B/s"
		C=$(post third$order netem "$T" '{"delay":"5ms"}')
		[ "$C" = 409 ] && grep -q "dev e1 already carries faultline faults" /run/r && grep -q "$NE" /run/r && grep -q "$BW" /run/r &&
			pass "$order: a third fault refused naming both: $(cat /run/r)" || fail "$order: third fault: $C $(cat /run/r)"
		if [ $order = netem-first ]; then
			del $BW; R=$(nt rtt 10.99.0.2 5001 10); X=$(nt tput 10.99.0.2 5001 2)
			near "$R" "$B" 100 && tput_in "$X" 500000 1e15 && pass "$order: bandwidth reverted, netem stays: rtt $R ms, $X B/s" ||
				fail "$order: after bandwidth revert: rtt $R ms, $X B/s, $(qshow)"
			del $NE
		else
			del $NE; R=$(nt rtt 10.99.0.2 5001 10); X=$(nt tput 10.99.0.2 5001 2)
			near "$R" "$B" 0 && tput_in "$X" 75000 275000 && pass "$order: netem reverted, the tbf stays: rtt $R ms, $X B/s" ||
				fail "$order: after netem revert: rtt $R ms, $X B/s, $(qshow)"
			qshow | grep -q '"kind":"tbf","handle":"fa17:","root":true' || fail "$order: tbf not back at the root: $(qshow)"
			del $BW
		fi
		[ "$(qshow)" = "$BEFORE" ] && pass "$order: the last one out restores fq_codel exactly" || fail "$order: left $(qshow)"
	done
	apply netem "$T" '{"delay":"10ms"}'
	C=$(post second netem "$T" '{"delay":"1ms"}')
	[ "$C" = 409 ] && grep -q "dev e1 already carries faultline fault" /run/r && grep -q "$ID" /run/r &&
		grep -q "(root qdisc netem fa17:); two faults of one kind do not compose" /run/r &&
		pass "second netem refused (409) naming $ID and e1: $(cat /run/r)" || fail "second netem: $C $(cat /run/r)"
	revert netem
else
	apply netem "$T" '{"delay":"10ms"}'
	if "$D" apply netem "$T" '{"delay":"1ms"}' /run/undo2.json 2>/run/err; then fail "second fault accepted"
	else pass "second fault refused: $(cat /run/err)"; fi
	revert netem
fi

# 8b) SIGKILL the agent while netem and bandwidth (composed) are live; the restarted agent
# reconciles from its journal: no faultline qdisc left, fq_codel back exactly
if [ $MODE = agent ]; then
	BEFORE=$(qshow)
	apply netem "$T" '{"delay":"30ms","loss":"1%"}'
	apply bandwidth "$T" '{"rate":"4mbit"}'
	qshow | grep -q '"handle":"fa19:"' && pass "netem + tbf live before SIGKILL" || fail "not live before SIGKILL: $(qshow)"
	kill -9 $AP; wait $AP 2>/dev/null
	qshow | grep -q '"handle":"fa17:"' || fail "netem gone before the restart?"
	start_agent
	[ "$(qshow)" = "$BEFORE" ] && pass "SIGKILL + restart: the agent reverted the live netem + tbf: $(qshow)" ||
		fail "after SIGKILL + restart: $(qshow)"
fi

# 9) benchmark: netem apply+revert through the fault code vs tc
if [ -n "${BENCH:-}" ] && [ -x "$BENCH" ]; then
	ip netns exec h1 /sbin/tc qdisc del dev e1 root 2>/dev/null
	"$BENCH" netem h1 e1 ${BENCH_N:-40} | sed 's/^/VM: BENCH /'
fi
kill "$S2" "$S3" 2>/dev/null
[ $MODE = agent ] && kill $AP 2>/dev/null
finish
