#!/bin/sh
# Build the libFuzzer targets (clang-14, ASan+UBSan, coverage) into build-fuzz/
# and run each for SECONDS (default 20: the CI short run), or for RUNS
# executions when RUNS=N is set. Prints executions per target; exits 1 if any
# target crashed (the input is kept in build-fuzz/artifacts/).
#
#   tests/fuzz/run.sh 15                  CI: 15 s per target
#   tests/fuzz/run.sh 600 rules api       10 minutes each, two targets
#   RUNS=10000000 nice -n 19 tests/fuzz/run.sh 0    long run: 10M executions each
#   SEED=1 RUNS=200000 tests/fuzz/run.sh 0           CI: a fixed seed and count, so the
#                                         same inputs run on every machine
#                                         (SECONDS > 0 with RUNS: whichever comes first)
#   FUZZ_NOBUILD=1 ...                    use build-fuzz/ as it is (parallel lanes)
#
# New coverage goes to build-fuzz/corpus/<target>/ (the repo's seeds in
# tests/fuzz/corpus/<target>/ are read, never written). Reproduce a crash:
#   build-fuzz/tests/fuzz/fuzz-<target> build-fuzz/artifacts/<target>-crash-...
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-20}
[ $# -gt 0 ] && shift
targets=${*:-"experiment api fault_parse rules shm_table units agent_config agent_http kube controller prometheus vars journal query report"}
dir=${FUZZ_BUILD_DIR:-$top/build-fuzz}
cc=${FUZZ_CC:-clang-14}

if ! command -v "$cc" >/dev/null; then
	echo "SKIPPED: $cc not installed (scripts/deps.sh installs it)"
	exit 77
fi
[ -n "${FUZZ_NOBUILD:-}" ] || cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DFL_FUZZ=ON -DFL_WERROR=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	>/dev/null
[ -n "${FUZZ_NOBUILD:-}" ] || cmake --build "$dir" --target fuzz_all -j"$(nproc)" >/dev/null

mkdir -p "$dir/artifacts"
jw="" # fuzz-journal's work folder under /tmp, while it runs
trap '[ -z "$jw" ] || rm -rf "$jw"' EXIT
trap 'exit 130' INT TERM
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
summary=""
for t in $targets; do
	case $t in
	experiment) dict=experiment max=16384 ;;
	rules) dict=rules max=2048 ;;
	units) dict=units max=256 ;;
	shm_table) dict="" max=12288 ;;
	agent_http) dict=http max=8192 ;;
	kube) dict=kube max=16384 ;;
	prometheus) dict=prometheus max=8192 ;;
	vars) dict=experiment max=8192 ;;
	journal) dict=journal max=16384 ;;
	query) dict=query max=1024 ;;
	report) dict=report max=65536 ;;
	*) dict=api max=8192 ;;
	esac
	mkdir -p "$dir/corpus/$t"
	prefix="$dir/artifacts/$t-"
	corpus="$dir/corpus/$t"
	seeds="$top/tests/fuzz/corpus/$t"
	dictfile=${dict:+$top/tests/fuzz/$dict.dict}
	set -- -max_len=$max -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	# fuzz-journal shuts itself in namespaces as an unused uid (fuzz_journal.c)
	# before libFuzzer reads anything: it reads the seeds and the dictionary and
	# writes its corpus and artifacts as that uid, and it runs as PID 1 there,
	# where a SIGTERM with a handler would stop it. The checkout may sit in a
	# folder only its owner can traverse (a 0700 home), so it works in a 0755
	# folder under /tmp; what it found is copied back after.
	if [ "$t" = journal ]; then
		mkdir -p "$dir/artifacts/journal"
		jw=$(mktemp -d /tmp/fl-fuzz-journal-run.XXXXXX)
		chmod 755 "$jw"
		mkdir "$jw/corpus" "$jw/seeds" "$jw/artifacts"
		cp -R "$corpus/." "$jw/corpus/"
		cp -R "$seeds/." "$jw/seeds/"
		[ -z "$dictfile" ] || { cp "$dictfile" "$jw/" && dictfile="$jw/${dictfile##*/}"; }
		chmod -R a+rX "$jw"
		chown -R 1879048191:1879048191 "$jw/corpus" "$jw/artifacts"
		corpus="$jw/corpus" seeds="$jw/seeds"
		prefix="$jw/artifacts/"
		set -- "$@" -handle_term=0
	fi
	set -- "$@" -artifact_prefix="$prefix"
	[ -n "$dictfile" ] && set -- "$@" -dict="$dictfile"
	# The agent's HTTP server runs in threads of this process: their allocations
	# straddle inputs, and LSan's stop-the-world checks pause it mid-request.
	# Its leaks are checked by the ASan suite and valgrind (tests/hardening).
	[ "$t" = agent_http ] && set -- "$@" -detect_leaks=0
	[ -n "${RUNS:-}" ] && set -- "$@" -runs="$RUNS"
	[ -n "${SEED:-}" ] && set -- "$@" -seed="$SEED"
	[ "$secs" -gt 0 ] && set -- "$@" -max_total_time="$secs"
	log="$dir/artifacts/$t.log"
	echo "fuzz: $t ..."
	rc=0
	"$dir/tests/fuzz/fuzz-$t" "$@" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
	if [ "$t" = journal ]; then
		cp -R "$jw/corpus/." "$dir/corpus/$t/"
		cp -R "$jw/artifacts/." "$dir/artifacts/journal/"
		rm -rf "$jw"
		jw=""
	fi
	if [ $rc -eq 0 ]; then
		st=ok
	elif [ $rc -eq 77 ]; then
		st=SKIP # e.g. fuzz-journal without root
		grep SKIPPED "$log" | head -1
	else
		st=CRASH
		fail=1
		grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	summary="$summary$(printf '%-14s %-6s %12s execs %9s/s' "$t" "$st" "${execs:-?}" "${rate:-?}")
"
done
printf '\n%s' "$summary"
exit $fail
