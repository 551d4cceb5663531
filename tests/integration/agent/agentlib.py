"""Helpers shared by the agent's Python integration tests (controller_gone.py,
journal_order.py, lost_answer.py): HTTP over the agent's unix socket, a
token file, starting an agent (optionally under a wrapper such as strace) and
waiting until it serves, and a process's state letter."""
import http.client
import json
import os
import socket
import subprocess
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, method, path, token=None, body=None):
    """One request; (status, raw body)."""
    c = UnixHTTP(sock)
    h = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def get(sock, token, path):
    """GET; (status, parsed JSON)."""
    st, data = call(sock, "GET", path, token)
    return st, json.loads(data)


def state(pid):
    """The state letter of /proc/PID/stat (T: stopped), or "-" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "-"


def write_token(d):
    """A fresh token in d/token, mode 0600 (the agent refuses anything wider)."""
    token = os.urandom(24).hex()
    fd = os.open(f"{d}/token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (token + "\n").encode())
    os.close(fd)
    return token


def start_agent(agent_bin, d, wrapper=(), extra=(), tries=500):
    """faultline-agent on unix:d/agent.sock with d/token and d/state, its log in
    d/agent.log; returns (Popen, socket path) once /v1/health answers 200."""
    sock = f"{d}/agent.sock"
    p = subprocess.Popen(list(wrapper) + [agent_bin, "--listen", "unix:" + sock,
                                          "--token-file", f"{d}/token", "--state-dir",
                                          f"{d}/state"] + list(extra),
                         stderr=open(f"{d}/agent.log", "w"))
    for _ in range(tries):
        try:
            if call(sock, "GET", "/v1/health")[0] == 200:
                return p, sock
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.01)
    raise RuntimeError("the agent did not start: " + open(f"{d}/agent.log").read()[-2000:])
