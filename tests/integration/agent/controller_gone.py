#!/usr/bin/env python3
"""Lease expiry with the controller gone, for real: `faultline run` applies a
2 s pause through a faultline-agent of its inventory, then is killed with
SIGKILL (no revert, no renewal, nobody talks to the agent again). The agent
must resume the process by itself at the lease's deadline: not before it
(checked 200 ms ahead, and by the resume time), at most 200 ms after it, and
leave no live fault and no journal record.

    controller_gone.py FAULTLINE FAULTLINE_AGENT
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from agentlib import get, start_agent, state, write_token

DURATION_MS = 2000
LATE_MAX_MS = 200


def now_ms():
    return time.clock_gettime(time.CLOCK_MONOTONIC) * 1000.0


def main():
    if len(sys.argv) != 3:
        print("usage: controller_gone.py FAULTLINE FAULTLINE_AGENT")
        return 2
    fl, agent_bin = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    d = tempfile.mkdtemp(prefix="fl-ctl-gone-")
    procs = []
    failed = []

    def check(cond, msg):
        if not cond:
            failed.append(msg)
            print("FAIL:", msg)
        return cond

    try:
        token = write_token(d)
        agent, sock = start_agent(agent_bin, d)
        procs.append(agent)
        victim = subprocess.Popen(["sleep", "300"])
        procs.append(victim)
        with open(f"{d}/inventory.json", "w") as f:
            json.dump({"token_file": "token",
                       "agents": [{"name": "host-1", "address": "unix:" + sock}]}, f)
        exp = {
            "title": "the controller dies while its fault is live",
            "method": [
                {"type": "action", "name": "pause the victim",
                 "provider": {"type": "fault", "kind": "pause",
                              "target": {"pid": victim.pid}, "duration": f"{DURATION_MS}ms"}},
                {"type": "action", "name": "wait to be killed",
                 "provider": {"type": "process", "path": "sh",
                              # "$$" is an experiment's "$": the shell sees "echo $$"
                              "arguments": ["-c", f"echo $$$$ > {d}/waiter; exec sleep 60"]}},
            ],
        }
        with open(f"{d}/exp.json", "w") as f:
            json.dump(exp, f)
        ctl = subprocess.Popen([fl, "run", "--agents", f"{d}/inventory.json", "--journal",
                                f"{d}/journal.json", f"{d}/exp.json"], cwd=d,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ctl)
        end = now_ms() + 10000
        while not os.path.exists(f"{d}/waiter") and now_ms() < end and ctl.poll() is None:
            time.sleep(0.005)
        if not check(os.path.exists(f"{d}/waiter"), "the run never reached its second action"):
            return 1
        check(state(victim.pid) == "T", f"victim not paused (state {state(victim.pid)})")
        ctl.kill()  # SIGKILL: the controller is gone, without a word to the agent
        ctl.wait()
        t0 = now_ms()
        st, j = get(sock, token, "/v1/faults")
        t1 = now_ms()
        faults = j.get("faults", [])
        if not check(st == 200 and len(faults) == 1, f"live faults after the kill: {st} {j}"):
            return 1
        f = faults[0]
        check(f["ttl_ms"] == DURATION_MS, f"lease {f['ttl_ms']} ms, want the fault's {DURATION_MS}")
        # The agent's deadline lies in [t0 + expires_in_ms, t1 + expires_in_ms + 1].
        lo, hi = t0 + f["expires_in_ms"], t1 + f["expires_in_ms"] + 1
        wait = lo - 200 - now_ms()
        if wait > 0:
            time.sleep(wait / 1000)
        check(state(victim.pid) == "T", "resumed more than 200 ms before the lease's deadline")
        end = hi + 3000
        while state(victim.pid) == "T" and now_ms() < end:
            time.sleep(0.0005)
        resumed = now_ms()
        if not check(state(victim.pid) in ("S", "R"), f"still {state(victim.pid)} 3 s after the deadline"):
            return 1
        print(f"controller SIGKILLed; the agent resumed the victim {resumed - hi:.1f} ms after "
              f"the lease's deadline (deadline known to within {hi - lo:.1f} ms)")
        check(resumed >= lo - 1, f"resumed {lo - resumed:.1f} ms before the deadline")
        check(resumed - hi <= LATE_MAX_MS, f"resumed {resumed - hi:.1f} ms after the deadline")
        time.sleep(0.05)
        st, j = get(sock, token, "/v1/faults")
        check(st == 200 and j.get("faults") == [], f"still live: {j}")
        left = os.listdir(f"{d}/state/faults")
        check(left == [], f"journal records left: {left}")
        st, j = get(sock, None, "/v1/health")
        check(st == 200, "the agent stopped serving")
    finally:
        try:
            with open(f"{d}/waiter") as w:
                os.kill(int(w.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if p is procs[0] else signal.SIGKILL)
            p.wait()
        if failed:
            print("--- agent log ---")
            with open(f"{d}/agent.log") as f:
                print(f.read())
        shutil.rmtree(d, ignore_errors=True)
    if failed:
        return 1
    print("PASS controller_gone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
