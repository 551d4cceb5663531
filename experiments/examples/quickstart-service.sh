#!/bin/sh
# The throwaway demo service of the quick-start experiment (quickstart.json):
# python3's http.server on 127.0.0.1:PORT serving /health.json.
#
#   quickstart-service.sh up PORT    first call of a run: start it and wait until it
#                                    answers; later calls: check it is still alive
#   quickstart-service.sh stop       stop it and remove its state (the rollback)
#
# State lives in ${TMPDIR:-/tmp}/faultline-quickstart-UID/run-PPID, PPID being the
# faultline process that runs the experiment, so a run never mistakes the
# service of an earlier, killed run for its own.
set -eu

base="${TMPDIR:-/tmp}/faultline-quickstart-$(id -u)"
dir="$base/run-$PPID"

die() {
	echo "quickstart-service: $*" >&2
	exit 1
}

# Stop services left behind by runs whose faultline process is gone.
reap_stale() {
	for d in "$base"/run-*; do
		[ -d "$d" ] || continue
		owner=${d##*/run-}
		kill -0 "$owner" 2>/dev/null && continue
		if [ -f "$d/pid" ]; then
			kill "$(cat "$d/pid")" 2>/dev/null || true
		fi
		rm -rf "$d"
	done
}

up() {
	port=$1
	if [ -f "$dir/pid" ]; then
		pid=$(cat "$dir/pid")
		kill -0 "$pid" 2>/dev/null || die "the demo service (pid $pid) is gone"
		echo "demo service running, pid $pid"
		return 0
	fi
	mkdir -p -m 700 "$base"
	[ -O "$base" ] || die "$base belongs to someone else"
	reap_stale
	mkdir -p "$dir/www"
	printf '{"status": "ok", "service": "faultline quick-start demo"}\n' >"$dir/www/health.json"
	python3 -m http.server --bind 127.0.0.1 --directory "$dir/www" "$port" \
		</dev/null >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	i=0
	while ! python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
		"http://127.0.0.1:$port/health.json" 2>/dev/null; do
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			cat "$dir/log" >&2
			rm -rf "$dir"
			die "the demo service could not start on 127.0.0.1:$port" \
				"(in use? set FAULTLINE_QUICKSTART_PORT to another port)"
		fi
		i=$((i + 1))
		[ $i -lt 100 ] || die "the demo service did not answer within 10s"
		sleep 0.1
	done
	echo "demo service started on 127.0.0.1:$port, pid $(cat "$dir/pid")"
}

stop() {
	if [ -f "$dir/pid" ]; then
		pid=$(cat "$dir/pid")
		kill "$pid" 2>/dev/null || true
		echo "demo service stopped, pid $pid"
	else
		echo "demo service was not running"
	fi
	rm -rf "$dir"
	rmdir "$base" 2>/dev/null || true
}

case "${1:-}" in
up) up "${2:?usage: quickstart-service.sh up PORT}" ;;
stop) stop ;;
*) die "usage: quickstart-service.sh up PORT | stop" ;;
esac
