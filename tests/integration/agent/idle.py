#!/usr/bin/env python3
"""An idle agent does not wake up (issue #18: idle CPU 0, no periodic wake-up
beyond the lease timer).

A real faultline-agent on a unix socket, as the kernel counts it: the context
switches of each of its threads (/proc/PID/task/*/status, voluntary and not)
over a quiet window.

  1. fresh and idle: no thread switches at all for WINDOW seconds;
  2. the lease timer still fires: a pause of a sleeping child with a 1.5 s
     lease is lifted (the child runs again) within 1 s of its deadline, and
     afterwards the agent is quiet again;
  3. as root, with `ip`: a bandwidth fault in a network namespace the test
     creates (a veth pair) leaves a netlink socket pooled after its revert; the agent frees
     it within its 5 s idle limit (its socket count falls back) with nobody
     asking, and is quiet again afterwards.

    idle.py FAULTLINE_AGENT
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from agentlib import call, start_agent, state, write_token

WINDOW = 3.0


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def switches(pid):
    """{thread: voluntary + involuntary context switches} of every thread."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/status") as f:
                out[t] = sum(int(line.split()[1]) for line in f
                             if line.startswith(("voluntary_ctxt_switches",
                                                 "nonvoluntary_ctxt_switches")))
        except OSError:
            pass
    return out


def quiet(pid, what):
    """Fail unless no thread of pid switches for WINDOW seconds."""
    before = switches(pid)
    time.sleep(WINDOW)
    after = switches(pid)
    woke = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
    if woke:
        fail(f"{what}: threads woke up within {WINDOW} s (thread: switches): {woke}")
    print(f"ok: {what}: {len(after)} threads, 0 wake-ups in {WINDOW} s")


def sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def post(sock, token, body):
    st, data = call(sock, "POST", "/v1/faults", token, json.dumps(body))
    if st != 201:
        fail(f"apply {body['id']}: HTTP {st}: {data[:300]!r}")


def main():
    agent = os.path.abspath(sys.argv[1])
    d = tempfile.mkdtemp(prefix="fl-idle-")
    agent_p = child = None
    ns = None
    try:
        token = write_token(d)
        agent_p, sock = start_agent(agent, d, extra=["--log-level", "warn"])
        time.sleep(1.0)  # start-up work (revert workers warming) is over
        quiet(agent_p.pid, "fresh agent")

        child = subprocess.Popen(["sleep", "300"])
        post(sock, token, {"id": "idle-pause", "kind": "pause", "target": {"pid": child.pid},
                           "ttl_ms": 1500})
        deadline = time.monotonic() + 1.5
        if state(child.pid) != "T":
            fail(f"the paused child is in state {state(child.pid)}, not stopped")
        while state(child.pid) == "T" and time.monotonic() < deadline + 5:
            time.sleep(0.01)
        late = time.monotonic() - deadline
        if state(child.pid) == "T" or late > 1.0:
            fail(f"the lease did not fire on time: {late:.3f} s past the deadline")
        print(f"ok: the lease fired {late * 1000:.0f} ms after its deadline")
        time.sleep(0.5)
        quiet(agent_p.pid, "after the lease fired")

        if os.geteuid() != 0 or not shutil.which("ip"):
            print("SKIPPED part 3 (pooled netlink sockets): needs root and ip(8)")
            return 0
        ns = "fl-idle-%d-%s" % (os.getpid(), os.urandom(3).hex())
        r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
        if r.returncode != 0:
            ns = None
            print(f"SKIPPED part 3: cannot create a network namespace: {r.stderr.strip()}")
            return 0
        subprocess.run(["ip", "-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "d0", "up"], check=True)
        n0 = sockets(agent_p.pid)
        post(sock, token, {"id": "idle-bw", "kind": "bandwidth",
                           "target": {"netns": ns, "interface": "d0"},
                           "params": {"rate": "8mbit"}, "ttl_ms": 60000})
        st, data = call(sock, "DELETE", "/v1/faults/idle-bw", token)
        if st != 200:
            fail(f"revert idle-bw: HTTP {st}: {data[:300]!r}")
        t0 = time.monotonic()
        n1 = sockets(agent_p.pid)
        if n1 <= n0:
            fail(f"no netlink socket pooled after the revert ({n0} sockets before, {n1} after):"
                 " this part checks nothing")
        while sockets(agent_p.pid) > n0 and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        held = time.monotonic() - t0
        if sockets(agent_p.pid) > n0:
            fail(f"the pooled netlink socket is still open {held:.1f} s after its last use")
        if held < 4.5:
            fail(f"the pooled socket went after {held:.1f} s, before its 5 s idle limit")
        print(f"ok: the pooled netlink socket was freed {held:.1f} s after its last use")
        time.sleep(0.5)
        quiet(agent_p.pid, "after the pool emptied")
        return 0
    finally:
        if child:
            child.kill()
            child.wait()
        if agent_p:
            agent_p.terminate()
            agent_p.wait()
        if ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
