#!/bin/sh
# /init of the user-mode-linux guest (tests/vm/run.sh boots it with the host's / read-only).
# Real netem, tbf, u32 scope and cls_bpf partition through faultline's fault code
# (fl-netdrv), measured with fl-nettool between network namespaces joined by a bridge:
#   h1 10.99.0.1 (where faults go, dev e1)   h2 10.99.0.2   h3 10.99.0.3   sw: br0
# Prints "VM: PASS|FAIL <check>: detail" lines and one "VM-RESULT: PASS|FAIL" verdict.
# Settings come from the kernel command line: BIN (fl-netdrv, fl-nettool dir),
# BENCH (fl-bench-net or empty), HOSTDIR (results dir, mounted rw through hostfs).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp # hide the host's (hostfs writes are real)
[ -n "${HOSTDIR:-}" ] && mount -t hostfs none "$HOSTDIR" -o "$HOSTDIR"
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
	modprobe -d /tmp/m -a veth bridge sch_netem sch_htb sch_tbf sch_ingress cls_u32 cls_bpf \
		sch_fq_codel || { fail "modprobe"; finish; }

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
	ip -n h$i addr add 10.99.0.$i/24 dev e$i; ip -n h$i link set e$i up; ip -n h$i link set lo up
done
for i in 2 3; do ip netns exec h$i "$NT" serve 10.99.0.$i 5001 >/dev/null & eval "S$i=\$!"
	ip netns exec h$i "$NT" serve 10.99.0.$i 5002 >/dev/null & done
sleep 0.5
nt() { ip netns exec h1 "$NT" "$@"; }
qshow() { ip netns exec h1 /sbin/tc -j qdisc show dev e1; }
U=/run/undo.json
T='{"netns":"h1","interface":"e1"}'
apply() { "$D" apply "$1" "$2" "$3" $U 2>/run/e || fail "$1 apply: $3: $(cat /run/e)"; }
revert() { "$D" revert "$1" $U 2>/run/e || fail "$1 revert: $(cat /run/e)"; }
# |got - base - want| <= want*10% + 5 ms
near() { awk -v g="$1" -v b="$2" -v w="$3" 'BEGIN { d = g - b - w; if (d < 0) d = -d; exit !(d <= w * 0.1 + 5) }'; }

"$D" available netem >/run/e 2>&1 && pass "preflight: netem available" || fail "preflight: netem: $(head -c 600 /run/e)"

B=$(nt rtt 10.99.0.2 5001 20); B3=$(nt rtt 10.99.0.2 5002 20)
echo "VM: baseline rtt ${B}ms (5001) ${B3}ms (5002)"
[ -n "$B" ] || { fail "baseline rtt"; finish; }

# 1) delay raises the TCP round trip by the set amount; revert restores noqueue exactly
BEFORE=$(qshow)
apply netem "$T" '{"delay":"100ms"}'
R=$(nt rtt 10.99.0.2 5001 10)
near "$R" "$B" 100 && pass "delay 100ms: rtt $B -> $R ms" || fail "delay 100ms: rtt $B -> $R ms"
revert netem
[ "$(qshow)" = "$BEFORE" ] && pass "revert restores: $BEFORE" || fail "revert: $BEFORE -> $(qshow)"

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

# 8) a second root fault on the interface is refused with a reason
apply netem "$T" '{"delay":"10ms"}'
if "$D" apply bandwidth "$T" '{"rate":"1mbit"}' /run/undo2.json 2>/run/err; then fail "second fault accepted"
else pass "second fault refused: $(cat /run/err)"; fi
revert netem

# 9) benchmark: netem apply+revert through the fault code vs tc
if [ -n "${BENCH:-}" ] && [ -x "$BENCH" ]; then
	ip netns exec h1 /sbin/tc qdisc del dev e1 root 2>/dev/null
	"$BENCH" netem h1 e1 200 | sed 's/^/VM: BENCH /'
fi
kill "$S2" "$S3" 2>/dev/null
finish
