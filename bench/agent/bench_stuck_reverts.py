#!/usr/bin/env python3
"""Lease punctuality while reverts are stuck (issue #12, item 2).

A real faultline-agent on TCP loopback; real faults. Two rounds on the same
agent, each with N pause faults whose leases end `spacing` ms apart:

  baseline  nothing else going on;
  blocked   reverts kept busy for --hold seconds: launched commands that
            ignore SIGTERM, whose leases end 2 s apart (each revert waits out
            the 2 s SIGTERM grace before its SIGKILL), and a syscall fault on
            a shimmed process of uid 65534 whose revert needs the shim table's
            flock, which that user takes and holds for --hold seconds (where
            that wait is bounded, the revert fails and is retried every
            second); the N leases end meanwhile.

For each lease: when the paused process was resumed (waitid WCONTINUED in
the parent: the kernel's word) against its deadline, taken as the 201's
receipt + its expires_in_ms (lateness: negative = early) and, as an upper
bound, the request's sending + ttl_ms. And GET /v1/health round trips, one
every 20 ms. Prints p50/p99/max of both rounds and their ratio, and the
agent's own faultline_agent_lease_late_seconds_max.

  bench/agent/bench_stuck_reverts.py --agent build/agent/faultline-agent \\
      --shim build/preload/libfaultline-preload.so [--leases 50] [--spacing 20] [--hold 10]

Needs root (the agent's capabilities, and uid 65534 as the table's owner).
"""
import argparse
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "agent"))
from hardlib import NOBODY, Agent, Procs, rmtree, tempdir  # noqa: E402

HOLD_FLOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
print("ready", flush=True)
sys.stdin.readline()
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""

IGNORE_TERM = "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 1; done\n"


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def health_sampler(a, stop, out):
    while not stop.is_set():
        t = time.monotonic()
        try:
            a.http("GET", "/v1/health", token=False, timeout=5)
            out.append((time.monotonic() - t) * 1000)
        except OSError:
            out.append(5000.0)
        time.sleep(0.02)


def round_of(a, P, n, spacing, first_ms, tag):
    """N pauses whose leases end first_ms + i*spacing ms from now; lateness lists (ms)."""
    sleepers, sent, recv, exp, ttl, resumed = [], {}, {}, {}, {}, {}
    ws = []

    def wait(pid):
        os.waitid(os.P_PID, pid, os.WCONTINUED)
        resumed[pid] = time.monotonic()

    t0 = time.monotonic()
    for i in range(n):
        s = P.sleeper()
        sleepers.append(s)
        # The deadline, counted from now whatever the applies before took.
        # On a loaded machine the applies can fall behind that schedule: a lease
        # is then given 20 ms (never 0, which the agent refuses); lateness is
        # still measured against each lease's own ttl.
        ttl[s.pid] = max(20, int(first_ms + i * spacing - (time.monotonic() - t0) * 1000))
        sent[s.pid] = time.monotonic()
        st, j = a.pause(f"{tag}{i}", s.pid, ttl_ms=ttl[s.pid])
        recv[s.pid] = time.monotonic()
        if st != 201:
            sys.exit(f"bench_stuck_reverts: pause {tag}{i}: {st} {j}")
        exp[s.pid] = j["expires_in_ms"]
        # Waiting before the next apply: no lease of this round may end unwatched.
        ws.append(threading.Thread(target=wait, args=(s.pid,), daemon=True))
        ws[-1].start()
    stop, health = threading.Event(), []
    hs = threading.Thread(target=health_sampler, args=(a, stop, health), daemon=True)
    hs.start()
    for w in ws:
        w.join(60)
    stop.set()
    hs.join()
    late = [(resumed[p] - recv[p]) * 1000 - exp[p] for p in resumed]
    upper = [(resumed[p] - sent[p]) * 1000 - ttl[p] for p in resumed]
    if len(late) != n:
        sys.exit(f"bench_stuck_reverts: {n - len(late)} leases never fired")
    for s in sleepers:
        s.kill()
        s.wait()
    return late, upper, health


def line(name, v):
    return f"{name:34} p50 {pct(v, 50):8.2f}  p99 {pct(v, 99):8.2f}  max {max(v):8.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default=os.path.join(HERE, "..", "..", "build", "agent",
                                                     "faultline-agent"))
    ap.add_argument("--shim", default=os.path.join(HERE, "..", "..", "build", "preload",
                                                    "libfaultline-preload.so"))
    ap.add_argument("--leases", type=int, default=50)
    ap.add_argument("--spacing", type=float, default=20.0, help="ms between deadlines")
    ap.add_argument("--hold", type=float, default=10.0, help="s the table's flock is held")
    o = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIPPED: needs root")
        sys.exit(77)
    for f in (o.agent, o.shim):
        if not os.path.exists(f):
            print(f"SKIPPED: {f} is not built")
            sys.exit(77)
    P = Procs()
    d = tempdir("bench-lease")
    state = d + "/state"
    try:
        lib = d + "/libfaultline-preload.so"
        with open(o.shim, "rb") as src, open(lib, "wb") as dst:
            dst.write(src.read())
        os.chmod(lib, 0o644)
        with open(d + "/ignore-term", "w") as f:
            f.write(IGNORE_TERM)
        os.chmod(d + "/ignore-term", 0o755)
        # The journal on tmpfs, as the shipped configurations keep it (bench_agent.c).
        state = tempdir("bench-lease-state")
        os.rmdir(state)
        state = "/dev/shm/" + os.path.basename(state)
        a = Agent(o.agent, d, state=state, env=dict(os.environ, FAULTLINE_PRELOAD=lib))
        if not a.start():
            sys.exit("bench_stuck_reverts: the agent did not start: " + a.log_text()[-400:])
        # The first deadline after every apply of the round is done (about 10 ms each).
        base = round_of(a, P, o.leases, o.spacing, 300 + 20 * o.leases, "b")

        # The blockers.
        v = P.sleeper(user=NOBODY, env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": lib})
        table = f"/dev/shm/faultline-{v.pid}"
        while not os.path.exists(table):
            time.sleep(0.01)
        h = P.as_user(HOLD_FLOCK, table, o.hold, stdin=subprocess.PIPE)
        if h.stdout.readline().strip() != b"ready":
            sys.exit("bench_stuck_reverts: the table's owner could not open it")
        st, j = a.apply("held", "syscall", {"pid": v.pid}, {"rules": ["write:EIO"]}, ttl_ms=400)
        if st != 201:
            sys.exit(f"bench_stuck_reverts: syscall fault: {st} {j}")
        h.stdin.write(b"go\n")
        h.stdin.flush()
        if h.stdout.readline().strip() != b"held":
            sys.exit("bench_stuck_reverts: the table's owner could not take its flock")
        t0 = time.monotonic()
        graces = max(1, int(o.hold // 2))
        for i in range(graces):
            st, j = a.apply(f"grace{i}", "syscall", {"command": [d + "/ignore-term"]},
                            {"rules": ["write:EIO"]},
                            ttl_ms=int(400 + 2000 * i - (time.monotonic() - t0) * 1000))
            if st != 201:
                sys.exit(f"bench_stuck_reverts: launched command: {st} {j}")
        time.sleep(max(0.0, t0 + 0.5 - time.monotonic()))  # the first leases ran out
        st, j = a.http("GET", "/v1/faults/held")
        stuck = (j.get("state") + (", last error: " + j["last_error"] if j.get("last_error")
                                   else "")) if st == 200 else f"HTTP {st}"
        first = 200 + 20 * o.leases
        window = max(0.0, graces * 2000 - 500 - first)
        spacing = min(o.spacing, window / max(1, o.leases))
        blocked = round_of(a, P, o.leases, spacing, first, "x")
        _, metrics = a.http("GET", "/metrics", raw=True)
        agent_max = [l.split()[1] for l in metrics.decode().splitlines()
                     if l.startswith("faultline_agent_lease_late_seconds_max ")]
        h.wait(o.hold + 5)
        a.stop()
    finally:
        P.done()
        rmtree(d)
        rmtree(state)

    print(f"bench_stuck_reverts: {o.leases} pause leases per round, deadlines {o.spacing:g} ms apart "
          f"({spacing:g} ms in the blocked round); blocked = {graces} launched commands "
          f"ignoring SIGTERM, reverted 2 s apart (2 s grace each), and a revert needing a "
          f"shim table's flock held {o.hold:g} s by uid {NOBODY} (its state: {stuck})")
    print("lateness of each lease's revert after its deadline, ms "
          "(resumed - (201 received + expires_in_ms)):")
    print(line("  baseline", base[0]))
    print(line("  with reverts stuck", blocked[0]))
    print("  upper bound (resumed - (request sent + ttl_ms)):")
    print(line("  baseline", base[1]))
    print(line("  with reverts stuck", blocked[1]))
    print("GET /v1/health round trip meanwhile, ms:")
    print(line("  baseline", base[2]))
    print(line("  with reverts stuck", blocked[2]))
    print(f"ratio stuck/baseline: lateness p99 {pct(blocked[0], 99) / max(0.01, pct(base[0], 99)):.2f}x,"
          f" max {max(blocked[0]) / max(0.01, max(base[0])):.2f}x; health p99 "
          f"{pct(blocked[2], 99) / max(0.01, pct(base[2], 99)):.2f}x")
    print(f"agent's own faultline_agent_lease_late_seconds_max: {agent_max[0] if agent_max else '?'}")
    print(f"within 10 ms of the deadline (stuck round): "
          f"{sum(1 for x in blocked[0] if x <= 10)}/{len(blocked[0])}")


if __name__ == "__main__":
    main()
