#!/bin/sh
# PostgreSQL (Debian package postgresql, installed by this harness when
# missing) under the syscall shim: fdatasync/fsync on pg_wal fail with EIO from
# each process's 5th call. The experiment commits rows; what PostgreSQL does is
# observed in its log (PANIC on the failed fdatasync, restart, recovery) and
# the verdict must match reality: held exactly when the server answers again
# and every acknowledged commit is in the table.
#
# The fault is armed when the server starts (faultline exec): the agent's
# `syscall` fault kind, which would arm it during the method, is not on main.
. "$(dirname "$0")/lib.sh"

need_pkg postgresql psql
PGB=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGB/postgres" ] || skip "no PostgreSQL server binary under /usr/lib/postgresql"
id postgres >/dev/null 2>&1 || skip "there is no postgres user"
SHIM=$(dirname "$FL")/../preload/libfaultline-preload.so
[ -f "$SHIM" ] || skip "the preload shim is not built"
su_pg() { runuser -u postgres -- "$@"; }
su_pg test -x "$FL" || skip "the postgres user cannot run $FL"

chown postgres: "$T"
su_pg "$PGB/initdb" -D "$T/data" -A trust -U postgres --no-sync >"$T/initdb.log" 2>&1 ||
	skip "initdb failed: $(tail -1 "$T/initdb.log")"
PGPORT=$(free_port)
export PGPORT PG_ACKED="$T/acked" PG_HELPER="$SRC/experiments/examples/postgres-fsync.sh"
su_pg env FAULTLINE_PRELOAD="$SHIM" "$FL" exec --fault "fdatasync,fsync:EIO:path=$T/data/pg_wal/:when=5+" -- \
	"$PGB/postgres" -D "$T/data" -k "$T" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
	-c fsync=on -c synchronous_commit=on >"$T/pg.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PGPORT" 20 || skip "postgres did not start: $(tail -2 "$T/pg.log")"
POSTMASTER=$(head -1 "$T/data/postmaster.pid")
PIDS="$POSTMASTER $PIDS"
sh "$PG_HELPER" ready 15 >/dev/null || skip "postgres does not answer"
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'create table faultline_t (x int)' ||
	fail "cannot create the table"

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
	jassert "$T/journal.json" 'j["deviated"] is True or j["status"] == "failed"'
fi
jassert "$T/journal.json" \
	'"acknowledged" in j["run"][0]["output"]["stdout"]' \
	'len(j["steady_states"]["after"]["probes"]) == 2'
kill -INT "$POSTMASTER" 2>/dev/null || true
echo "PASS: the verdict ($real) matches what PostgreSQL did"
