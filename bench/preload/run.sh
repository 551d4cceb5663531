#!/bin/sh
# Benchmarks of the preload shim and the seccomp path.
# usage: bench/preload/run.sh [BUILD_DIR]      (default: build/)
#  1. callgrind instructions added per write(2), over N=100000 calls, as
#     (Ir(N) - Ir(0)) / N minus native: shim disarmed, shim armed with a rule
#     that does not match, shim armed with a stream rule (write is one of its
#     functions, the descriptor is no TCP socket), libfiu's fiu-run -x (no
#     failure point enabled).
#  2. wall time per intercepted write(2) failing with EIO: seccomp user-notif
#     supervisor (faultline exec --seccomp, when=1+ forces the notify path)
#     vs strace --inject (as scheduled, and both pinned to one CPU), and the
#     shim for reference; R=9 rounds that run each
#     variant once, medians and the median of the per-round ratios.
#  SKIP_CALLGRIND=1 runs part 2 only, SKIP_TIMING=1 part 1 only; VERBOSE=1
#  prints every round.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-$top/build}
bench=$b/bench/preload/fl-bench-write
shim=$b/preload/libfaultline-preload.so
fexec=$b/tests/integration/preload/fl-exec
pingpong=$b/bench/preload/fl-bench-pingpong
N=${N:-100000}
NT=${NT:-20000}
R=${R:-9}
for f in "$bench" "$shim" "$fexec" "$pingpong"; do
	[ -e "$f" ] || { echo "missing $f: build first (scripts/build.sh)" >&2; exit 1; }
done
export FAULTLINE_PRELOAD="$shim"
command -v valgrind >/dev/null || { echo "valgrind missing (scripts/deps.sh)" >&2; exit 1; }
if ! command -v fiu-run >/dev/null; then
	echo "installing fiu-utils for the libfiu baseline" >&2
	"$top/scripts/apt-install.sh" fiu-utils >/dev/null
fi

# Total instructions of one run under callgrind ("Collected : N").
ir() {
	"$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}
cg="valgrind --tool=callgrind --callgrind-out-file=/dev/null"
per_call() { # label, command prefix...
	label=$1; shift
	a=$(ir "$@" $cg "$bench" 0)
	z=$(ir "$@" $cg "$bench" "$N")
	echo "$label $(( (z - a) ))"
}

if [ -z "${SKIP_CALLGRIND:-}" ]; then
echo "== instructions per write(2), N=$N (callgrind)"
native=$(per_call native env)
disarmed=$(per_call disarmed env LD_PRELOAD="$shim" FAULTLINE_SHM=)
registered=$(per_call registered env LD_PRELOAD="$shim")
armed=$(per_call armed "$fexec" --fault 'write:EIO:fd=99' --)
stream=$(per_call armed-tcp "$fexec" --fault 'reset_peer:port=1' --)
fiu=$(per_call libfiu fiu-run -x)
base=$(echo "$native" | cut -d' ' -f2)
for l in "$native" "$disarmed" "$registered" "$armed" "$stream" "$fiu"; do
	set -- $l
	awk -v name="$1" -v d="$2" -v base="$base" -v n="$N" 'BEGIN {
		printf "  %-11s %8.2f instr/call  %+8.2f vs native\n", name, d / n, (d - base) / n }'
done
echo "  (disarmed: FAULTLINE_SHM= no table; registered: own empty table;"
echo "   armed: one write rule, fd=99, that does not match fd 9;"
echo "   armed-tcp: a stream rule, which acts on TCP connections only: fd 9 is /dev/null)"
fi

[ -n "${SKIP_TIMING:-}" ] && exit 0
echo "== wall time per intercepted write(2) -> EIO, N=$NT, median of $R alternating rounds"
# One round runs every variant once, back to back, so that a burst of load
# from elsewhere hits all of them alike; the ratio is the median of the
# per-round ratios (robust against a noisy round), the times are medians.
t() { "$@" 2>&1 >/dev/null | sed -n 's/.*ns_per_call=\([0-9.]*\).*/\1/p' | tail -1; }
have_strace=0
command -v strace >/dev/null && have_strace=1
rounds=$(mktemp)
trap 'rm -f "$rounds"' EXIT
i=0
while [ "$i" -lt "$R" ]; do
	nat=$(t "$bench" "$NT")
	shimarmed=$(t "$fexec" --fault 'write:EIO' -- "$bench" "$NT")
	kern=$(t "$fexec" --seccomp --fault 'write:EIO' -- "$bench" "$NT")
	notif=$(t "$fexec" --seccomp --fault 'write:EIO:when=1+' -- "$bench" "$NT")
	st=0
	[ "$have_strace" = 1 ] &&
		st=$(t strace -f -qq -o /dev/null -e trace=write -e inject=write:error=EIO "$bench" "$NT")
	# The same two on one CPU (taskset): strace's best case, since its four
	# stops per call are then same-CPU wake-ups instead of cross-CPU ones.
	notif1=$(t taskset -c 0 "$fexec" --seccomp --fault 'write:EIO:when=1+' -- "$bench" "$NT")
	st1=0
	[ "$have_strace" = 1 ] &&
		st1=$(t taskset -c 0 strace -f -qq -o /dev/null -e trace=write -e inject=write:error=EIO "$bench" "$NT")
	pp=$(t taskset -c 0 "$pingpong" "$NT")
	echo "$nat $shimarmed $kern $notif $st $notif1 $st1 $pp" >>"$rounds"
	[ -n "${VERBOSE:-}" ] && echo "  round $i: native $nat shim $shimarmed errno $kern notif $notif strace $st; one CPU: notif $notif1 strace $st1" >&2
	i=$((i + 1))
done
med() { # column
	awk -v c="$1" '{ print $c }' "$rounds" | sort -g | awk '{ v[NR] = $1 } END {
		printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "  native (no fault)          $(med 1) ns"
echo "  shim, write:EIO            $(med 2) ns"
echo "  seccomp RET_ERRNO          $(med 3) ns"
echo "  seccomp user-notif         $(med 4) ns"
ratio() { # strace column, notif column, label
	awk -v s="$1" -v n="$2" '$n > 0 { print $s / $n }' "$rounds" | sort -g | awk -v l="$3" '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "  %s: user-notif is %.1fx cheaper than strace --inject (median of %d rounds; ", l, m, NR
		printf "rounds ranged %.1fx..%.1fx)\n", v[1], v[NR] }'
}
if [ "$have_strace" = 1 ]; then
	echo "  strace --inject            $(med 5) ns"
	echo "  one CPU (taskset -c 0): user-notif $(med 6) ns, strace --inject $(med 7) ns,"
	echo "    pipe ping-pong between two processes $(med 8) ns (the floor of any supervisor)"
	ratio 5 4 "as scheduled"
	ratio 7 6 "one CPU"
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "  (load average during the run: $load on $(nproc) CPUs)"
fi
