#!/bin/sh
# Live progress during long phases. On a real pseudo-terminal (python3's pty,
# 80 columns) the one live line shows a sampled probe's success ratio and
# p95, the time left in a fault's duration and a pause's countdown, redrawn
# in place ("\r" + erase line) and never wider than the terminal; NO_COLOR
# keeps the line and drops the colours. Off a terminal there is no escape
# and no "\r": a plain progress line every 10 s while something long runs.
. "$(dirname "$0")/lib.sh"

start_httpd
sleep 60 &
victim=$!
PIDS="$PIDS $victim"

cat >"$T/exp.json" <<JSON
{
  "title": "progress",
  "steady-state-hypothesis": {"title": "answers", "probes": [
    {"type": "probe", "name": "home answers", "mode": "during", "interval": "100ms",
     "tolerance": {"success_ratio": {"min": 0.5}},
     "provider": {"type": "http", "url": "$URL/json", "timeout": 1}}
  ]},
  "method": [
    {"type": "action", "name": "pause the sleeper",
     "provider": {"type": "fault", "kind": "pause", "target": {"pid": $victim}, "duration": "3s"},
     "pauses": {"after": ${PAUSE:-3}}}
  ]
}
JSON

# pty_run OUT ENV... -- ARGS: faultline on an 80-column pseudo-terminal, raw output in OUT.
pty_run() {
	out=$1
	shift
	python3 - "$out" "$FL" "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
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
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
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
pty_run "$T/tty" -- run exp.json || fail "the run on a terminal failed"
pty_run "$T/nocolor" NO_COLOR=1 -- run exp.json || fail "the run with NO_COLOR failed"
python3 - "$T/tty" "$T/nocolor" <<'PY' || fail "the live line is not what it should be"
import re, sys
for path in sys.argv[1:]:
    raw = open(path, "rb").read().decode("utf-8", "replace")
    # Every redraw of the live line starts with "\r\033[K"; take what each one drew.
    draws = [d.split("\n")[0] for d in raw.split("\r\x1b[K")[1:]]
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", d) for d in draws]
    need = {
        "probe ratio and p95": r'"home answers" \d+\.\d% ok of \d+, p95 [\d.]+m?s',
        "fault countdown": r'fault( "[^"]*")? \d+\.\ds left',
        "pause countdown": r'pause( after "[^"]*")? \d+\.\ds left',
    }
    for what, rx in need.items():
        if not any(re.search(rx, d) for d in plain):
            print("%s: no live line shows the %s" % (path, what), file=sys.stderr)
            sys.exit(1)
    # The countdown counts down.
    left = [float(m.group(2)) for d in plain for m in [re.search(r'pause( after "[^"]*")? (\d+\.\d)s left', d)] if m]
    if not (left[0] > left[-1] and left[0] >= 2.0):
        print("%s: the pause countdown does not count down: %r" % (path, left[:3] + left[-3:]), file=sys.stderr)
        sys.exit(1)
    wide = [d for d in plain if len(d) > 79]
    if wide:
        print("%s: a live line is wider than the terminal: %r" % (path, wide[0]), file=sys.stderr)
        sys.exit(1)
    colours = any(re.search(r"\x1b\[3[0-9]m", d) for d in raw.split("\n"))
    if path.endswith("nocolor") == colours:
        print("%s: colours %s" % (path, "despite NO_COLOR" if colours else "missing on a terminal"), file=sys.stderr)
        sys.exit(1)
PY

# Off a terminal: plain lines only, one every 10 s while the long pause runs.
cd "$SRC"
set +e
(cd "$T" && PAUSE=11 && sed 's/"after": 3/"after": 11/' exp.json >long.json &&
	env -u NO_COLOR TERM=xterm "$FL" run long.json) >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0
grep -q "$(printf '\033')" "$T/out" && fail "escape sequences in output that is not a terminal"
grep -q "$(printf '\r')" "$T/out" && fail "carriage returns in output that is not a terminal"
grep -Eq '^  \.\. progress \(method\): probe "home answers" [0-9.]+% ok of [0-9]+, p95 [0-9.]+m?s; pause after "pause the sleeper" [0-9.]+s left$' "$T/out" ||
	fail "no plain progress line during the 11 s pause"
[ "$(grep -c '^  \.\. progress' "$T/out")" -le 2 ] || fail "more than one plain progress line per 10 s"
echo "PASS"
