#!/bin/sh
# PostgreSQL (Debian package postgresql, installed by this harness when
# missing) with WAL fsync failures injected through the syscall shim. What
# PostgreSQL does is observed in its own log and tables, and each verdict
# must match that reality:
#  1. live fault (fault kind `syscall` through the embedded agent, armed in
#     the running server started with LD_PRELOAD): every WAL sync fails; the
#     backend PANICs, and each crash recovery PANICs again at its
#     end-of-recovery checkpoint, so the server never serves while the fault
#     lives: deviated; once the run reverts the fault it recovers and no
#     acknowledged commit is missing;
#  2. transient fault (faultline exec, each process's 5th WAL sync on fails):
#     the backend PANICs, the postmaster restarts and recovers: held.
. "$(dirname "$0")/lib.sh"

need_pkg postgresql psql
PGB=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGB/postgres" ] || skip "no PostgreSQL server binary under /usr/lib/postgresql"
# The postgresql package makes the postgres user: without it the install is broken.
id postgres >/dev/null 2>&1 || fail "postgresql is installed but there is no postgres user"
su_pg() { runuser -u postgres -- "$@"; }
# What the postgres user runs (faultline exec, the shim) is copied into $T
# (0755, under /tmp): the checkout's build/ may sit in a folder only its owner
# can traverse (a home folder, a 0700 mktemp -d).
mkdir "$T/bin"
chmod 755 "$T/bin"
shared_copy "$T/bin" "$FL" "$SHIM"
FL_PG=$T/bin/${FL##*/}
SHIM=$T/bin/${SHIM##*/}
readable_as postgres "$SHIM"
su_pg test -x "$FL_PG" || fail "the postgres user cannot run $FL_PG"

# pg_launch LOG [WRAPPER...]: the server on $PGPORT, postmaster PID in
# $POSTMASTER; 1 (nothing left running) when it does not start and answer.
pg_launch() {
	log=$1
	shift
	su_pg "$@" "$PGB/postgres" -D "$T/data" -k "$T" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
		-c fsync=on -c synchronous_commit=on >"$log" 2>&1 &
	PIDS="$PIDS $!"
	if wait_port "$PGPORT" 20; then
		POSTMASTER=$(head -1 "$T/data/postmaster.pid")
		PIDS="$POSTMASTER $PIDS"
		sh "$PG_HELPER" ready 15 >/dev/null && return 0
		stop_pg
		return 1
	fi
	POSTMASTER=$(head -1 "$T/data/postmaster.pid" 2>/dev/null || true)
	[ -z "$POSTMASTER" ] || { PIDS="$POSTMASTER $PIDS" && stop_pg; }
	return 1
}

# start_pg LOG [WRAPPER...]: pg_launch, or SKIPPED when this machine cannot run
# PostgreSQL; a server that starts without faultline's wrapper but not with
# it is a failure, not a skip.
start_pg() {
	slog=$1 # (pg_launch sets $log)
	shift
	pg_launch "$slog" "$@" && return 0
	[ $# -gt 0 ] || skip "postgres did not start: $(tail -2 "$slog")"
	pg_launch "$T/pg-plain.log" ||
		skip "postgres did not start: $(tail -2 "$T/pg-plain.log")"
	stop_pg
	fail "postgres starts, but not under '$*': $(tail -2 "$slog")"
}

# stop_pg: fast shutdown, wait until the postmaster is gone.
stop_pg() {
	kill -INT "$POSTMASTER" 2>/dev/null || true
	i=0
	while kill -0 "$POSTMASTER" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

chown postgres: "$T"
su_pg "$PGB/initdb" -D "$T/data" -A trust -U postgres --no-sync >"$T/initdb.log" 2>&1 ||
	skip "initdb failed: $(tail -1 "$T/initdb.log")"
PGPORT=$(free_port)
export PGPORT PG_ACKED="$T/acked" PG_HELPER="$SRC/experiments/examples/postgres-fsync.sh"
start_pg "$T/pg1.log" env LD_PRELOAD="$SHIM"
[ -e "/dev/shm/faultline-$POSTMASTER" ] || fail "postgres runs with LD_PRELOAD=$SHIM but did not register with the shim"
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'create table faultline_t (x int)' ||
	fail "cannot create the table"

# 1. Every WAL sync fails while the fault lives.
PG_WAL="$T/data/pg_wal/" run_fl run --var "pg_pid:int=$POSTMASTER" --journal live.json \
	"$SRC/experiments/examples/postgres-fsync-agent.json"
cp "$T/pg1.log" "$T/pg1-at-end.log"
summary "$T/live.json"
cat "$T/acked.out" >&2 || true
# What PostgreSQL did while the fault lived (its log up to the end of the run):
# the backend PANICs on the failed WAL sync, and every crash recovery PANICs
# again at its end-of-recovery checkpoint: a crash-restart loop, never serving.
panics=$(grep -c 'PANIC:  could not f\(data\)\?sync file .*Input/output error' "$T/pg1-at-end.log" || true)
restarts=$(grep -c 'all server processes terminated; reinitializing' "$T/pg1-at-end.log" || true)
[ "$panics" -ge 2 ] && [ "$restarts" -ge 2 ] ||
	fail "expected a PANIC/restart loop while the fault lived, got $panics PANICs, $restarts restarts: $(tail -5 "$T/pg1-at-end.log")"
acked1=$(cat "$T/acked")
[ "$acked1" -lt 20 ] || fail "all 20 commits were acknowledged: the fault never fired"
expect_rc 1
jassert "$T/live.json" 'j["status"] == "completed" and j["deviated"] is True' \
	'j["steady_states"]["before"]["steady_state_met"] is True' \
	'j["steady_states"]["after"]["probes"][0]["tolerance_met"] is False' \
	'[r["status"] for r in j["run"]] == ["succeeded", "succeeded"]'
# Once the run reverted the fault, recovery completes; no acknowledged commit is missing.
sh "$PG_HELPER" ready 20 >/dev/null || fail "postgres did not recover after the fault was reverted"
rows=$(psql -X -tA -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'select count(*) from faultline_t')
[ "$rows" -ge "$acked1" ] || fail "$acked1 commits were acknowledged but $rows rows are there"
echo "live fault: $panics PANICs, $restarts restarts, never served; recovered after revert; $acked1 acknowledged, $rows rows"
stop_pg

# 2. A transient failure: each process's 5th WAL sync on fails (armed at start).
start_pg "$T/pg.log" env FAULTLINE_PRELOAD="$SHIM" "$FL_PG" exec \
	--fault "fdatasync,fsync:EIO:path=$T/data/pg_wal/:when=5+" --
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'truncate faultline_t' ||
	fail "cannot empty the table"

run_fl run --journal journal.json "$SRC/experiments/examples/postgres-fsync-eio.json"
summary "$T/journal.json"
cat "$T/acked.out" >&2 || true

# What PostgreSQL did, from its own log.
grep -q 'PANIC:  could not fdatasync file .*Input/output error' "$T/pg.log" ||
	grep -q 'PANIC:  could not fsync file .*Input/output error' "$T/pg.log" ||
	fail "no PANIC on the failed WAL sync in the server log: $(grep -E 'PANIC|ERROR' "$T/pg.log" | head -3)"
grep -q 'all server processes terminated; reinitializing' "$T/pg.log" ||
	fail "the postmaster did not restart the server"
acked=$(cat "$T/acked")
[ "$acked" -lt 20 ] || fail "all 20 commits were acknowledged: the fault never fired"

# Reality, established without faultline: does it answer, is every acked row there?
real=held
sh "$PG_HELPER" ready 15 >/dev/null || real=deviated
if [ $real = held ]; then
	rows=$(psql -X -tA -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'select count(*) from faultline_t')
	[ "$rows" -ge "$acked" ] || real=deviated
fi
echo "PostgreSQL: PANIC on the failed WAL sync, restarted; $acked of 20 commits acknowledged; reality: $real"
if [ $real = held ]; then
	expect_rc 0
	jassert "$T/journal.json" 'j["status"] == "completed" and j["deviated"] is False'
else
	expect_rc 1
	jassert "$T/journal.json" 'j["exit_code"] == 1 and (j["deviated"] is True or j["status"] == "failed" or j["steady_state_met"] is False)'
fi
jassert "$T/journal.json" \
	'"acknowledged" in j["run"][0]["output"]["stdout"]' \
	'len(j["steady_states"]["after"]["probes"]) == 2'
stop_pg
echo "PASS: the verdicts (live fault: deviated, transient: $real) match what PostgreSQL did"
