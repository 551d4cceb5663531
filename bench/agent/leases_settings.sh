#!/bin/sh
# The leases bench at three settings in turn, twice (bench/agent/README.md):
# the agent at the bench's nice 10, at nice 0, and at nice 0 with
# lease_priority 1. Interleaved, so that a noisy minute on a shared machine
# falls on every setting alike. Extra arguments go to each run.
#   sh bench/agent/leases_settings.sh [--faults 1000 --rate 500]
set -u
top=$(dirname "$0")/../..
for round in 1 2; do
	for cfg in "" "--agent-nice 0" "--agent-nice 0 --lease-priority 1"; do
		echo "=== round $round, settings [$cfg], $(date -u +%H:%M:%S) UTC"
		# shellcheck disable=SC2086
		nice -n 10 python3 "$top/bench/agent/bench_leases.py" --faults 1000 --rate 500 $cfg "$@"
	done
done
