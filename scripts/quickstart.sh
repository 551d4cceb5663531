#!/bin/sh
# Quick start: install what is missing, build, and run the quick-start experiment.
# Its demo service listens on 127.0.0.1: on FAULTLINE_QUICKSTART_PORT when it is
# set, else on a port the kernel finds free now, so that quick starts run at the
# same time (several checkouts, CI) do not take each other's port.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
if [ -z "${FAULTLINE_QUICKSTART_PORT:-}" ]; then
	FAULTLINE_QUICKSTART_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	export FAULTLINE_QUICKSTART_PORT
fi
cd "$top"
exec "$top/build/controller/faultline" run --journal "$top/build/quickstart-journal.json" \
	--report "$top/build/quickstart-report.html" \
	"$top/experiments/examples/quickstart.json"
