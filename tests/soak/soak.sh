#!/bin/sh
# Soak test of faultline-agent (not part of the default suite; ~3 minutes):
# 1,000 live faults of mixed kinds -- SIGSTOP pauses of 600 real sleeping
# processes, syscall rules (write:EIO) in 100 real shells under the preload
# shim, and tbf on 300 veths in a network namespace, ~30% of them with
# leases that run out during the load (never renewed) -- while wrk drives 500 API requests/s
# for 60 s (soak.lua: apply and revert churn faults, get, renew, list,
# metrics, health) on loopback. Then: every fault applied was reverted exactly
# once (agent log), no process left stopped, no qdisc left, journal empty,
# no growth of the agent's RSS from one round to the next (two rounds on the
# same agent: glibc keeps freed heap, so a leak shows as growth across rounds,
# not as a difference from the first start). Prints requests served, latency
# percentiles and RSS at each step.
#   tests/soak/soak.sh [path/to/faultline-agent]
# Knobs: SOAK_PAUSE=600 SOAK_SYSCALL=100 SOAK_TBF=300 SOAK_SECS=60 SOAK_RATE=500 SOAK_THREADS=10 SOAK_ROUNDS=2
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
agent=${1:-$top/build/agent/faultline-agent}
[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: needs root"; exit 77; }
command -v wrk >/dev/null || { echo "SKIPPED: wrk not installed (scripts/deps.sh)"; exit 77; }
[ -x "$agent" ] || { echo "SKIPPED: no agent at $agent (build first)"; exit 77; }
exec python3 "$top/tests/soak/soak.py" "$agent"
