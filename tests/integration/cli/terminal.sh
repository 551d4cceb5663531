#!/bin/sh
# Terminal output: on a TTY a live progress line (carriage return + erase)
# and colours; NO_COLOR (non-empty, as no-color.org says), TERM=dumb and
# --no-color turn colours off but keep the live line; off a TTY there are no
# escape sequences at all, whatever NO_COLOR says.
. "$(dirname "$0")/lib.sh"

cat >"$T/exp.json" <<JSON
{
  "title": "terminal",
  "steady-state-hypothesis": {"title": "t", "probes": [
    {"type": "probe", "name": "ok", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
  ]},
  "method": [
    {"type": "action", "name": "takes a moment", "provider": {"type": "process", "path": "sleep", "arguments": ["0.6"]}}
  ]
}
JSON

# pty_run OUT ENV... -- ARGS: run faultline on a pseudo-terminal, raw output in OUT.
pty_run() {
	out=$1
	shift
	python3 - "$out" "$FL" "$@" <<'PY'
import os, pty, sys
out, fl, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
i = rest.index("--")
env = dict(os.environ)
env.pop("NO_COLOR", None)
env["TERM"] = "xterm"
for kv in rest[:i]:
    k, v = kv.split("=", 1)
    env[k] = v
pid, fd = pty.fork()
if pid == 0:
    os.execve(fl, [fl] + rest[i + 1:], env)
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
_, st = os.waitpid(pid, 0)
open(out, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(st))
PY
}

cd "$T"
pty_run "$T/tty" -- run exp.json || fail "run on a tty failed"
grep -q "$(printf '\r\033\\[K')" "$T/tty" || fail "no live progress line on a TTY"
grep -q "$(printf '\033\\[3[12]m')" "$T/tty" || fail "no colours on a TTY"
grep -q "running action \"takes a moment\"" "$T/tty" || fail "the live line does not name the activity"

pty_run "$T/nocolor" NO_COLOR=1 -- run exp.json || fail "run with NO_COLOR failed"
grep -q "$(printf '\033\\[[0-9;]*m')" "$T/nocolor" && fail "colours despite NO_COLOR"
grep -q "steady state HELD" "$T/nocolor" || fail "no result with NO_COLOR"
grep -q "$(printf '\r\033\\[K')" "$T/nocolor" || fail "NO_COLOR took the live progress line away"

# An empty NO_COLOR does not count (no-color.org).
pty_run "$T/empty" NO_COLOR= -- run exp.json || fail "run with an empty NO_COLOR failed"
grep -q "$(printf '\033\\[3[12]m')" "$T/empty" || fail "no colours with an empty NO_COLOR"

pty_run "$T/dumb" TERM=dumb -- run exp.json || fail "run with TERM=dumb failed"
grep -q "$(printf '\033\\[[0-9;]*m')" "$T/dumb" && fail "colours despite TERM=dumb"

pty_run "$T/flag" -- run --no-color exp.json || fail "run with --no-color failed"
grep -q "$(printf '\033\\[[0-9;]*m')" "$T/flag" && fail "colours despite --no-color"
grep -q "$(printf '\r\033\\[K')" "$T/flag" || fail "--no-color took the live progress line away"

# Off a terminal: no escapes even without NO_COLOR (CTest sets it for the other tests).
set +e
(cd "$T" && env -u NO_COLOR TERM=xterm "$FL" run exp.json) >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0
grep -q "$(printf '\033')" "$T/out" && fail "escape sequences in output that is not a terminal"
grep -q "$(printf '\r')" "$T/out" && fail "carriage returns in output that is not a terminal"
expect_out "ok      action \"takes a moment\""
echo "PASS"
