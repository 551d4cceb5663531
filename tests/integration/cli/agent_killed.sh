#!/bin/sh
# kill -9 of the embedded local agent while its fault is live: the run goes
# on without it, and by the time `faultline run` exits the paused process
# runs again and no journal record is left behind (the agent's journal is
# reconciled, not abandoned in a temp dir nobody will ever look at).
. "$(dirname "$0")/lib.sh"

agent="$(dirname "$FL")/../agent/faultline-agent"
# Built with faultline (CTest passes that build): missing, the build is broken.
[ -x "$agent" ] || fail "faultline-agent is not built next to faultline ($agent)"
command -v pgrep >/dev/null 2>&1 || skip "pgrep is not installed"

sleep 120 &
victim=$!
PIDS="$PIDS $victim"
mkdir "$T/rt"

cat >"$T/exp.json" <<JSON
{
  "title": "the local agent dies mid-fault",
  "method": [
    {"type": "action", "name": "pause the victim",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim},
                  "params": {"method": "signal"}, "duration": "60s"}},
    {"type": "action", "name": "kill -9 the local agent",
     "provider": {"type": "process", "path": "sh",
                  "arguments": ["-c", "grep -q '^State:[[:space:]]*T' /proc/$victim/status && touch $T/paused; for p in \$(pgrep -P \$PPID -x faultline-agent); do kill -9 \$p && touch $T/killed; done"]}}
  ]
}
JSON
set +e
(cd "$T" && XDG_RUNTIME_DIR="$T/rt" exec "$FL" run exp.json) >"$T/out" 2>&1
RC=$?
set -e
[ -e "$T/paused" ] || fail "the fault did not pause the victim (rc $RC)"
[ -e "$T/killed" ] || fail "the local agent was not found to kill (rc $RC)"
if grep -q "^State:[[:space:]]*T" "/proc/$victim/status"; then
	kill -CONT "$victim"
	fail "the victim is still stopped after the run (rc $RC)"
fi
left=$(find "$T/rt" -name '*.json' | wc -l)
[ "$left" -eq 0 ] || fail "$left journal record(s) left in $T/rt"
echo "PASS"
