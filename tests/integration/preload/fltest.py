"""Shared helpers for the preload shim's integration tests (run by CTest)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LINE = re.compile(r"^(\S+) ret=(-?\d+) errno=(\S+) ms=(\d+)(.*)$")


def env(name):
    v = os.environ.get(name)
    if not v:
        skip(f"{name} is not set (run through ctest)")
    return v


def skip(reason):
    print(f"SKIPPED: {reason}")
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, timeout=30, extra_env=None, input=None):
    e = dict(os.environ)
    e.update(extra_env or {})
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e,
                          input=input)


def parse(out):
    """hooktest output -> list of (op, ret, errno, ms, extra)."""
    res = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            res.append((m[1], int(m[2]), m[3], int(m[4]), m[5].strip()))
    return res


def exec_cmd(rules, cmd, seed=None, seccomp=False):
    c = [env("FL_EXEC")]
    for r in rules:
        c += ["--fault", r]
    if seed is not None:
        c += ["--seed", str(seed)]
    if seccomp:
        c.append("--seccomp")
    return c + ["--"] + cmd


def alive(pid):
    """Running (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reap_orphans():
    """We are the subreaper: collect commands orphaned by the agent's SIGKILL."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def wait_for(cond, secs=5.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def launch(a, fid, cmd, rules, ttl_ms=60000, mode=None, seed=1, experiment="it", **extra):
    """POST a syscall fault whose target is a command the agent launches."""
    params = {"rules": rules, "seed": seed}
    if mode:
        params["mode"] = mode
    return a.http("POST", "/v1/faults", {"id": fid, "experiment": experiment, "kind": "syscall",
                                         "target": dict(command=cmd, **extra),
                                         "params": params, "ttl_ms": ttl_ms})


def pid_of(body):
    return ((body or {}).get("details") or {}).get("processes", [{}])[0].get("pid")


class Checks:
    def __init__(self):
        self.failed = []
        self.n = 0

    def check(self, ok, what):
        self.n += 1
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            self.failed.append(what)

    def done(self):
        print(f"{self.n - len(self.failed)}/{self.n} checks passed")
        if self.failed:
            print("failed:\n  " + "\n  ".join(self.failed))
            sys.exit(1)
        sys.exit(0)


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="fl-preload-")
        return self.path

    def __exit__(self, *a):
        shutil.rmtree(self.path, ignore_errors=True)


class Agent:
    """A real faultline-agent on a loopback port with its own token and state dir."""

    def __init__(self, binary, d, config=None, state="state"):
        self.binary, self.config, self.state = binary, config, state
        self.d, self.port, self.proc = d, free_port(), None
        self.token = os.urandom(24).hex()
        self.token_file, self.log = f"{d}/{state}.token", f"{d}/{state}.log"
        # Created 0600: the agent refuses a token file group or others can read.
        # A second agent on the same state dir (a restart) gets a fresh token.
        if os.path.exists(self.token_file):
            os.unlink(self.token_file)
        with os.fdopen(os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(self.token + "\n")

    def start_or_fail(self, c):
        """Start it; if it does not answer, fail the checks c with its log and end."""
        if not self.start():
            c.check(False, "faultline-agent did not start: " + open(self.log).read())
            c.done()

    def start(self):
        log = open(self.log, "a")
        cmd = [self.binary, "--listen", f"127.0.0.1:{self.port}", "--token-file",
               self.token_file, "--state-dir", self.d + "/" + self.state]
        if self.config:
            cmd += ["--config", self.config]
        self.proc = subprocess.Popen(cmd, stderr=log, stdout=log)
        end = time.time() + 10
        while time.time() < end:
            try:
                if self.http("GET", "/v1/health")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def http(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": "Bearer " + self.token,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def apply(self, fid, pid, rules, ttl_ms=60000):
        return self.http("POST", "/v1/faults", {"id": fid, "experiment": "shim-it",
                                                "kind": "syscall", "target": {"pid": pid},
                                                "params": {"rules": rules, "seed": 1},
                                                "ttl_ms": ttl_ms})

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class LocalDNS:
    """A DNS server on 127.0.0.1 (UDP, a port of its own) for the resolver tests:
    answers A queries for the names in `a` (name -> IPv4), NOERROR without
    records for other types of those names, NXDOMAIN for the rest; records
    every name asked, so a test can tell what reached DNS at all."""

    def __init__(self, a):
        import threading
        self.a = {k.lower().rstrip("."): v for k, v in a.items()}
        self.asked = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import struct
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                q, peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            if len(q) < 17:
                continue
            i, labels = 12, []
            while i < len(q) and q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            qtype, qclass = struct.unpack("!HH", q[i + 1:i + 5])
            name = ".".join(labels).lower()
            self.asked.append(name)
            question = q[12:i + 5]
            known = name in self.a
            an = b""
            if known and qtype == 1:
                an = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + \
                    socket.inet_aton(self.a[name])
            flags = 0x8180 | (0 if known else 3)
            hdr = q[:2] + struct.pack("!HHHHH", flags, 1, 1 if an else 0, 0, 0)
            self.sock.sendto(hdr + question + an, peer)

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.sock.close()
