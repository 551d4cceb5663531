"""Helpers of the agent's hardening tests (hardening.py, tests/hardening/chaos.py,
bench/agent/bench_stuck_reverts.py): a real faultline-agent on TCP loopback or a unix
socket with its own token and state dir, raw and JSON HTTP, sleeping target
processes, and code run as a real unprivileged user (the attacker)."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

NOBODY = 65534  # the attacker: a real, unprivileged user
# The attacker's interpreter: the system's (one under root's home is not readable by others).
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


class Failed(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Failed(what)


def skip(reason):
    print("SKIPPED: " + reason)
    sys.exit(77)


def need_root():
    if os.geteuid() != 0:
        skip("needs root (an agent with its capabilities, and a second user to attack it)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tempdir(tag):
    """A private temp dir that other users may traverse (0711): the attacker
    reaches what the test hands it, nothing it could list."""
    d = tempfile.mkdtemp(prefix=f"fl-{tag}-")
    os.chmod(d, 0o711)
    return d


def proc_state(pid):
    """The state letter of /proc/PID/stat (T: stopped), or "-" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "-"


def wait_state(pid, want, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc_state(pid) in want:
            return True
        time.sleep(0.005)
    return proc_state(pid) in want


class Procs:
    """Processes a test started; every one is killed (by PID) at the end."""

    def __init__(self):
        self.all = []

    def add(self, p):
        self.all.append(p)
        return p

    def sleeper(self, user=None, env=None, argv=("sleep", "1000")):
        kw = {}
        if user is not None:
            kw = dict(user=user, group=user, extra_groups=[])
        return self.add(subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL, **kw))

    def as_user(self, code, *args, user=NOBODY, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL):
        """python3 CODE ARGS as another user (no supplementary groups)."""
        return self.add(subprocess.Popen([PYTHON, "-c", code] + [str(a) for a in args],
                                         user=user, group=user, extra_groups=[],
                                         stdin=stdin, stdout=stdout, cwd="/"))

    def done(self):
        for p in self.all:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.kill()
                except OSError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass


class Agent:
    """faultline-agent on 127.0.0.1:PORT (or unix:DIR/agent.sock), token DIR/token,
    state DIR/state (or state=...), log DIR/agent.log."""

    def __init__(self, binary, d, unix=False, state=None, extra=(), env=None, token=None):
        self.bin, self.d, self.extra, self.env = binary, d, list(extra), env
        self.state = state or d + "/state"
        self.log = d + "/agent.log"
        self.unix = d + "/agent.sock" if unix else None
        self.port = None if unix else free_port()
        self.proc = None
        self.token = token if token is not None else os.urandom(24).hex()
        tf = d + "/token"
        if os.path.exists(tf):
            os.unlink(tf)
        fd = os.open(tf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (self.token + "\n").encode())
        os.close(fd)

    def argv(self):
        listen = "unix:" + self.unix if self.unix else f"127.0.0.1:{self.port}"
        return [self.bin, "--listen", listen, "--token-file", self.d + "/token", "--state-dir",
                self.state] + self.extra

    def launch(self):
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
                                     env=self.env)
        return self.proc

    def start(self, secs=30):
        """Launch and wait until /v1/health answers; False if it exits or never answers."""
        self.launch()
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                if self.http("GET", "/v1/health", timeout=2)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def conn(self, timeout=10):
        if self.unix:
            c = http.client.HTTPConnection("localhost", timeout=timeout)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.unix)
            c.sock = s
            return c
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def http(self, method, path, body=None, token=True, timeout=10, raw=False):
        """(status, parsed JSON body, or the raw bytes when raw or not JSON)."""
        c = self.conn(timeout)
        h = {}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        if raw:
            return r.status, data
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data

    def raw(self, data, timeout=5):
        """Send bytes as they are on a new connection; the answer's raw bytes."""
        if self.unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.unix)
        else:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
                if b"\r\n\r\n" in out:
                    head, _, body = out.partition(b"\r\n\r\n")
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            if len(body) >= int(line.split(b":")[1]):
                                return out
        except socket.timeout:
            pass
        finally:
            s.close()
        return out

    def apply(self, fid, kind, target, params=None, ttl_ms=60000, experiment="hard", query=""):
        return self.http("POST", "/v1/faults" + query,
                         {"id": fid, "experiment": experiment, "kind": kind, "target": target,
                          "params": params or {}, "ttl_ms": ttl_ms})

    def pause(self, fid, pid, ttl_ms=60000, experiment="hard"):
        return self.apply(fid, "pause", {"pid": pid}, ttl_ms=ttl_ms, experiment=experiment)

    def records(self):
        try:
            return sorted(f for f in os.listdir(self.state + "/faults") if not f.startswith("."))
        except OSError:
            return []

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, secs=30):
        """SIGTERM; the exit status, or None when it did not exit in secs."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(secs)
        except subprocess.TimeoutExpired:
            return None


def run_cases(cases):
    """main(): `PROG CASE AGENT [ARGS...]`; each case gets (agent binary, extra args)."""
    if len(sys.argv) < 3 or sys.argv[1] not in cases:
        print("usage: %s {%s} AGENT [ARGS...]" % (sys.argv[0], "|".join(cases)))
        sys.exit(2)
    need_root()
    agent = sys.argv[2]
    if not os.access(agent, os.X_OK):
        print("FAIL: no agent at " + agent)
        sys.exit(2)
    try:
        cases[sys.argv[1]](agent, sys.argv[3:])
    except Failed as e:
        print("FAIL: " + str(e))
        sys.exit(1)
    except Exception:  # a hung agent (timeout), a refused connection: a failure too
        traceback.print_exc()
        print("FAIL: unexpected exception")
        sys.exit(1)
    print("PASS")


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)
