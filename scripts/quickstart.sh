#!/bin/sh
# Quick start: install what is missing, build, and run the quick-start experiment.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
cd "$top"
exec "$top/build/controller/faultline" run --journal "$top/build/quickstart-journal.json" \
	--report "$top/build/quickstart-report.html" \
	"$top/experiments/examples/quickstart.json"
