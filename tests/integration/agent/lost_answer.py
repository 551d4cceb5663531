#!/usr/bin/env python3
"""All-or-nothing when an agent's answer is lost: the agent applied the fault,
but the controller never heard its 201 (the connection dropped after the
request went through). `faultline run` must count that agent as one that may
have applied it and send it a DELETE in its rollback, so the fault ends now,
not when its lease would. A real faultline-agent behind a real relay on a
unix socket that passes every byte both ways, except that it swallows the
answer to the first POST /v1/faults and closes the controller's connection.

    lost_answer.py FAULTLINE FAULTLINE_AGENT
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from agentlib import get, start_agent, state, write_token


class Relay:
    """unix:front -> unix:back, byte for byte; the answer to the first
    POST /v1/faults is read from the agent and dropped with the connection."""

    def __init__(self, front, back):
        self.back = back
        self.lock = threading.Lock()
        self.dropped = 0
        self.posts = 0
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(front)
        self.srv.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(self.back)
            drop = threading.Event()
            threading.Thread(target=self.up, args=(c, b, drop), daemon=True).start()
            threading.Thread(target=self.down, args=(b, c, drop), daemon=True).start()

    def up(self, c, b, drop):
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                if data.startswith(b"POST /v1/faults"):
                    with self.lock:
                        self.posts += 1
                        if self.dropped == 0:
                            self.dropped = 1
                            drop.set()
                b.sendall(data)
        except OSError:
            pass
        finally:
            b.close()

    def down(self, b, c, drop):
        try:
            while True:
                data = b.recv(65536)
                if not data:
                    break
                if drop.is_set():
                    # The agent answered (it applied); the controller hears nothing.
                    time.sleep(0.05)
                    c.shutdown(socket.SHUT_RDWR)
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.srv.close()


def main():
    if len(sys.argv) != 3:
        print("usage: lost_answer.py FAULTLINE FAULTLINE_AGENT")
        return 2
    fl, agent_bin = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    d = tempfile.mkdtemp(prefix="fl-lost-answer-")
    procs = []
    failed = []

    def check(cond, msg):
        print(("ok   " if cond else "FAIL ") + msg)
        if not cond:
            failed.append(msg)
        return cond

    try:
        token = write_token(d)
        agent, sock = start_agent(agent_bin, d)
        procs.append(agent)
        relay = Relay(f"{d}/relay.sock", sock)
        victim = subprocess.Popen(["sleep", "300"])
        procs.append(victim)
        with open(f"{d}/inventory.json", "w") as f:
            json.dump({"token_file": "token",
                       "agents": [{"name": "far", "address": f"unix:{d}/relay.sock"}]}, f)
        exp = {"title": "an agent's answer is lost",
               "method": [{"type": "action", "name": "pause the victim",
                           "provider": {"type": "fault", "kind": "pause", "agents": ["far"],
                                        "target": {"pid": victim.pid}, "duration": "60s"}}]}
        with open(f"{d}/exp.json", "w") as f:
            json.dump(exp, f)
        t0 = time.monotonic()
        run = subprocess.run([fl, "run", "--agents", f"{d}/inventory.json", "--journal",
                              f"{d}/journal.json", f"{d}/exp.json"], cwd=d, timeout=60,
                             capture_output=True, text=True)
        took = time.monotonic() - t0
        out = run.stdout + run.stderr
        check(relay.dropped == 1 and relay.posts == 1,
              f"the agent got the POST and its answer was dropped ({relay.posts} POST)")
        check(run.returncode == 1, f"the run fails (exit {run.returncode}) in {took:.1f} s")
        with open(f"{d}/journal.json") as f:
            j = json.load(f)
        check(j.get("status") == "aborted", f"journal status {j.get('status')}")
        check("reverted on 1 of 1 agent(s) that had or may have applied it" in json.dumps(j),
              "the journal says the rollback reached the agent whose answer was lost")
        st, live = get(sock, token, "/v1/faults")
        check(st == 200 and live.get("faults") == [],
              f"nothing live on the agent right after the run: {live}")
        check(state(victim.pid) in ("S", "R"),
              f"the victim runs again (state {state(victim.pid)}), long before its lease ends")
        left = os.listdir(f"{d}/state/faults")
        check(left == [], f"no journal record left on the agent: {left}")
        if failed:
            print(out)
        relay.close()
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if p is procs[0] else signal.SIGKILL)
            p.wait()
        if failed:
            print("--- agent log ---")
            with open(f"{d}/agent.log") as f:
                print(f.read())
        shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
