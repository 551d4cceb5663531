#!/bin/sh
# --dry with fault activities, through the embedded local agent: each agent
# says what it would do in tc/kill vocabulary (the plan runs: the interface is
# resolved, the processes selected), and nothing is applied -- the qdiscs of
# a test netns are the same before and after, a process stays running, no
# journal is written. A refusal is printed (exit 1); a pre-flight failure is
# printed with the plan (exit 2).
. "$(dirname "$0")/lib.sh"

agent="$(dirname "$FL")/../agent/faultline-agent"
# Built with faultline (CTest passes that build): missing, the build is broken.
[ -x "$agent" ] || fail "faultline-agent is not built next to faultline ($agent)"
command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1 || skip "iproute2 is not installed"
NS="fl-dry-cli-$$"
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace here"
trap 'ip netns del "$NS" 2>/dev/null || true; cleanup' EXIT INT TERM
ip -n "$NS" link add fla type veth peer name flb
ip -n "$NS" link set fla up
ip -n "$NS" link set flb up
if ! ip netns exec "$NS" tc qdisc add dev flb root tbf rate 1mbit burst 16k latency 50ms 2>/dev/null; then
	skip "this kernel has no tbf qdisc"
fi
ip netns exec "$NS" tc qdisc del dev flb root

sleep 120 &
victim=$!
PIDS="$PIDS $victim"

cat >"$T/exp.json" <<JSON
{
  "title": "dry faults",
  "method": [
    {"type": "action", "name": "cap the link",
     "provider": {"type": "fault", "kind": "bandwidth", "target": {"netns": "$NS", "interface": "fla"},
                  "params": {"rate": "1mbit"}, "duration": "30s"}},
    {"type": "action", "name": "pause the victim",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim},
                  "params": {"method": "signal"}, "duration": "30s"}}
  ]
}
JSON
before=$(ip netns exec "$NS" tc -j qdisc show)
run_fl run --dry exp.json
expect_rc 0
expect_out "agent local: ip netns exec $NS tc qdisc replace dev fla root handle fa17: tbf rate 1mbit burst 16kb latency 50ms"
expect_out "agent local: on revert: ip netns exec $NS tc qdisc del dev fla root handle fa17:"
expect_out "agent local: selected: $victim"
expect_out "agent local: on revert: kill -CONT $victim"
expect_out "nothing was applied"
after=$(ip netns exec "$NS" tc -j qdisc show)
[ "$before" = "$after" ] || fail "--dry changed the qdiscs: before $before after $after"
grep -q "^State:[[:space:]]*[SR]" "/proc/$victim/status" || fail "--dry stopped the victim: $(grep State /proc/$victim/status)"
[ ! -e "$T/journal.json" ] || fail "--dry wrote a journal"

# What a run would refuse is printed, and the exit says a run would abort.
cat >"$T/refused.json" <<JSON
{
  "title": "dry refusal",
  "method": [
    {"type": "action", "name": "pause init",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": 1}, "duration": "5s"}}
  ]
}
JSON
run_fl run --dry refused.json
expect_rc 1
expect_out "agent local: REFUSED (HTTP 403 forbidden)"
expect_out "at \$.method\[0\].provider.target"

# Pre-flight failure (a kind this kernel lacks): printed with the plan, exit 2.
if [ ! -d /sys/module/sch_netem ] && ! modprobe -n -q sch_netem 2>/dev/null; then
	cat >"$T/netem.json" <<JSON
{
  "title": "dry netem",
  "method": [
    {"type": "action", "name": "slow the link",
     "provider": {"type": "fault", "kind": "netem", "target": {"netns": "$NS", "interface": "fla"},
                  "params": {"delay": "100ms"}, "duration": "5s"}}
  ]
}
JSON
	run_fl run --dry netem.json
	expect_rc 2
	expect_out 'action "slow the link"'
	expect_out "Pre-flight failed: .*kernel has no sch_netem"
	after=$(ip netns exec "$NS" tc -j qdisc show)
	[ "$before" = "$after" ] || fail "--dry changed the qdiscs: before $before after $after"
else
	echo "note: this kernel has sch_netem; the pre-flight failure is not shown"
fi
echo "PASS"
