"""Shared helpers for the preload shim's integration tests (run by CTest)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

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
