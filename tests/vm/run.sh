#!/bin/sh
# tests/vm/run.sh BUILD_DIR: boot user-mode-linux (Debian's user-mode-linux package) with
# the host's / as a read-only hostfs root and run tests/vm/guest-init.sh there: real
# sch_netem on a host kernel that lacks it. Exit 0 PASS, 1 FAIL, 77 SKIPPED (with reason).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
command -v linux.uml >/dev/null 2>&1 || skip "no linux.uml (apt-get install user-mode-linux)"
command -v busybox >/dev/null 2>&1 || skip "no busybox (apt-get install busybox-static)"
[ -d /usr/lib/uml/modules ] || skip "no /usr/lib/uml/modules"
[ "$(id -u)" = 0 ] || skip "needs root (UML netns and qdiscs)"
BIN=$BUILD/tests/integration/net
[ -x "$BIN/fl-netdrv" ] && [ -x "$BIN/fl-nettool" ] || { echo "FAIL: build $BIN first"; exit 1; }
# ASan's shadow memory collides with UML's address space layout inside the guest
# ("Shadow memory range interleaves with an existing memory mapping"): the lane runs
# in the normal build; the sanitizer build checks the same code in integration.net and unit.
ldd "$BIN/fl-netdrv" 2>/dev/null | grep -q libasan &&
	skip "ASan binaries cannot run inside user-mode-linux (shadow memory vs UML mappings)"
AGENT=$BUILD/agent/faultline-agent # the real agent when it is built; else fl-netdrv
[ -x "$AGENT" ] || AGENT=
BENCH=$BUILD/bench/net/fl-bench-net
[ -x "$BENCH" ] || BENCH=
W=$(mktemp -d /tmp/fl-vm.XXXXXX)
trap 'rm -rf "$W"' EXIT
# UML exits 0 even when the guest fails: the verdict is the console's VM-RESULT line.
# The limit only catches a hung guest: UML is one CPU whose every guest syscall is
# a few host context switches, so it slows down steeply with the host's load
# (77 s here at load ~5; 101 s was not enough at load ~14; 343 s at load ~80).
timeout "${VM_TIMEOUT:-420}" linux.uml mem=512M root=/dev/root rootfstype=hostfs rootflags=/ ro \
	init="$HERE/guest-init.sh" con=null con0=null,fd:1 quiet \
	HOSTDIR="$W" BUILDDIR="$BUILD" BIN="$BIN" BENCH="$BENCH" AGENT="$AGENT" </dev/null >"$W/console.log" 2>&1
rc=$?
tr -d '\r' <"$W/console.log" | grep -E '^(VM|VM-RESULT):' 
if grep -q '^VM-RESULT: PASS' "$W/console.log"; then exit 0; fi
if grep -q '^VM-RESULT: FAIL' "$W/console.log"; then exit 1; fi
echo "--- console (last 30 lines)"; tail -30 "$W/console.log"
if ! grep -q '^VM: booted' "$W/console.log"; then skip "user-mode-linux did not boot here (rc $rc)"; fi
echo "FAIL: the guest gave no verdict (rc $rc, timeout ${VM_TIMEOUT:-420}s)"
exit 1
