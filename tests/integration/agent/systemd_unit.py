#!/usr/bin/env python3
"""deploy/systemd/faultline-agent.service against the agent it ships:

- `systemd-analyze verify` finds nothing to say about it (its ExecStart
  pointed at the built agent), when systemd-analyze is installed;
- its ExecStart passes the start flags deploy scripts rely on (--listen,
  --token-file, --state-dir, the journal under the RuntimeDirectory);
- that very command line (token, state dir and port moved into a temp dir)
  starts the agent, which tells Type=notify READY=1 on $NOTIFY_SOCKET only
  once it serves, logs one JSON object per line (--log-format json), and on
  SIGTERM (KillMode=mixed sends it to the main process) exits 0 well within
  TimeoutStopSec.

    systemd_unit.py UNIT_FILE FAULTLINE_AGENT
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    unit_path, agent = sys.argv[1], os.path.abspath(sys.argv[2])
    text = open(unit_path).read()
    joined = re.sub(r"\\\n\s*", " ", text)
    keys = {}
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    if keys.get("Type") != ["notify"]:
        fail(f"Type={keys.get('Type')}, the agent speaks sd_notify")
    argv = shlex.split(keys["ExecStart"][0])
    opts = {}
    for i, a in enumerate(argv[1:], 1):
        if a.startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            opts[a] = argv[i + 1]
    for flag in ("--listen", "--token-file", "--state-dir"):
        if flag not in opts:
            fail(f"ExecStart lacks {flag}: {argv}")
    rd = keys.get("RuntimeDirectory", [""])[0]
    if opts["--state-dir"] != "/run/" + rd:
        fail(f"--state-dir {opts['--state-dir']} is not the RuntimeDirectory /run/{rd}")

    d = tempfile.mkdtemp(prefix="fl-unit-")
    proc = None
    try:
        analyze = shutil.which("systemd-analyze")
        if analyze:
            with open(f"{d}/faultline-agent.service", "w") as f:
                f.write(text.replace(argv[0], agent, 1))
            r = subprocess.run([analyze, "verify", "--man=no", f"{d}/faultline-agent.service"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
                fail(f"systemd-analyze verify: rc {r.returncode}\n{r.stdout}{r.stderr}")
            print("systemd-analyze verify: clean")
        else:
            print("note: systemd-analyze is not installed; unit not verified by systemd")

        fd = os.open(f"{d}/token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(24).hex().encode() + b"\n")
        os.close(fd)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        subst = {"--token-file": f"{d}/token", "--state-dir": f"{d}/state",
                 "--listen": f"127.0.0.1:{port}"}
        cmd = [agent] + [subst.get(argv[i - 1], a) for i, a in enumerate(argv) if i > 0]
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(f"{d}/notify")
        notify.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=f"{d}/notify")
        log = open(f"{d}/agent.log", "w")
        proc = subprocess.Popen(cmd, env=env, stderr=log)
        try:
            msg = notify.recv(4096).decode()
        except socket.timeout:
            fail(f"no sd_notify message in 10 s from {cmd}")
        if "READY=1" not in msg.split("\n"):
            fail(f"sd_notify said {msg!r}, not READY=1")
        # Ready means serving: health answers at once, no retry.
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        resp = b""
        while chunk := c.recv(65536):
            resp += chunk
        c.close()
        if not resp.startswith(b"HTTP/1.1 200"):
            fail(f"health right after READY=1: {resp[:200]!r}")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        took = time.monotonic() - t0
        proc = None
        if rc != 0:
            fail(f"exit {rc} on SIGTERM")
        if took > 5:
            fail(f"SIGTERM took {took:.1f} s")
        log.close()
        lines = open(f"{d}/agent.log").read().splitlines()
        for line in lines:
            o = json.loads(line)
            if not isinstance(o, dict) or not {"ts", "level", "msg"} <= o.keys():
                fail(f"log line is not a JSON record: {line}")
        if not any(json.loads(line)["msg"] == "stopped" for line in lines):
            fail("no 'stopped' log line")
        print(f"unit's ExecStart: READY=1, served, SIGTERM -> exit 0 in {took * 1000:.0f} ms, "
              f"{len(lines)} JSON log lines")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)
    print("PASS systemd_unit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
