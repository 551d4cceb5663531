#!/bin/sh
# Helper of postgres-fsync-eio.json (PostgreSQL on 127.0.0.1:$PGPORT, user postgres, trust).
#   write N        commit N rows, one autocommit INSERT each, in ONE session; the number of
#                  acknowledged commits ("INSERT 0 1" seen) goes to $PG_ACKED
#   ready SECONDS  until `select 1` answers (exit 0), or 1 after SECONDS
#   check          every acknowledged row is in the table (count >= acknowledged)
set -u
q() { psql -X -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }
case "${1:-}" in
write)
	i=1
	while [ "$i" -le "$2" ]; do
		echo "insert into faultline_t values ($i);"
		i=$((i + 1))
	done | q -f - >"$PG_ACKED.out" 2>&1
	acked=$(grep -c '^INSERT 0 1$' "$PG_ACKED.out")
	echo "$acked" >"$PG_ACKED"
	echo "$acked of $2 commits acknowledged"
	grep -m1 -E 'server closed|connection to server was lost' "$PG_ACKED.out" || true
	;;
ready)
	end=$(($(date +%s) + $2))
	until q -tA -c 'select 1' >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || { echo "no answer within $2 s"; exit 1; }
		sleep 0.2
	done
	echo "answers"
	;;
check)
	n=$(q -tA -c 'select count(*) from faultline_t') || exit 2
	acked=$(cat "$PG_ACKED")
	echo "$n rows, $acked acknowledged"
	[ "$n" -ge "$acked" ]
	;;
*)
	echo "usage: $0 write N | ready SECONDS | check" >&2
	exit 2
	;;
esac
