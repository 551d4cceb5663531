#!/usr/bin/env python3
"""The agent's "lease_priority" (issue #18, leases under load): its lease
thread and revert workers at SCHED_FIFO, nothing else of it.

A real faultline-agent on a unix socket, as root:

  1. with {"lease_priority": 1} and RLIMIT_RTPRIO 0 (prlimit), so that only
     the capability can allow it: the log says so, the fl-lease thread and
     every fl-revert worker are SCHED_FIFO 1 with SCHED_RESET_ON_FORK (what
     they fork starts at SCHED_OTHER), the API threads and the main thread
     stay SCHED_OTHER; CAP_SYS_NICE is permitted but effective in no thread;
     six pauses whose leases run out together are all lifted within 1 s of
     their deadline, and every revert worker then alive is SCHED_FIFO 1 too;
  2. with --rlimit (agent.lease_priority_rlimit), only this: without
     CAP_SYS_NICE (setpriv) but with RLIMIT_RTPRIO 1, systemd's LimitRTPRIO=
     way, the same threads at SCHED_FIFO 1 (SKIPPED, 77, where this
     machine's root cannot raise the limit: no CAP_SYS_RESOURCE);
  3. with neither: the agent warns, for the lease thread and for the
     workers, that they run at the normal priority, they are SCHED_OTHER,
     and a lease still fires (this shows only that it still works: it allows
     1 s);
  4. "lease_priority": 100 is refused at start: exit 2, the field named.

    lease_priority.py FAULTLINE_AGENT [--rlimit]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from agentlib import call, start_agent, state, write_token

CAP_SYS_NICE = 23


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def threads(pid):
    """[(tid, comm)] of every thread of pid."""
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                out.append((int(t), f.read().strip()))
        except OSError:
            pass
    return out


def cap_mask(pid, tid, field):
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    return 0


def sched(tid):
    """(policy without flags, reset-on-fork, priority) of a thread."""
    p = os.sched_getscheduler(tid)
    return (p & ~os.SCHED_RESET_ON_FORK, bool(p & os.SCHED_RESET_ON_FORK),
            os.sched_getparam(tid).sched_priority)


def wait_for(what, check, secs=2.0):
    """check() until it returns None (fine) or secs pass; then fail with its last answer."""
    end = time.monotonic() + secs
    while True:
        why = check()
        if why is None:
            return
        if time.monotonic() > end:
            fail(f"{what}: {why}")
        time.sleep(0.02)


def policies(pid, want_fifo):
    """None when fl-lease and every fl-revert are (not, if not want_fifo) SCHED_FIFO 1
    with reset on fork, and every other thread SCHED_OTHER; else what is not."""
    for tid, comm in threads(pid):
        try:
            got = sched(tid)
        except OSError:
            continue  # a worker that just exited
        rt = want_fifo and comm in ("fl-lease", "fl-revert")
        want = (os.SCHED_FIFO, True, 1) if rt else (os.SCHED_OTHER, False, 0)
        if got != want:
            return f"thread {tid} ({comm}): (policy, reset-on-fork, priority) {got}, want {want}"
    return None


def log_has(d, text):
    return None if text in open(f"{d}/agent.log").read() else f"no {text!r} in the log"


def write_config(d, cfg):
    path = f"{d}/config.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps(cfg).encode())
    os.close(fd)
    return path


def pause_and_wait(sock, token, pids, ttl_ms, what):
    """Pause each pid with a ttl_ms lease; fail unless all run again within 1 s of it."""
    for i, pid in enumerate(pids):
        st, data = call(sock, "POST", "/v1/faults", token,
                        json.dumps({"id": f"{what}-{i}", "kind": "pause",
                                    "target": {"pid": pid}, "ttl_ms": ttl_ms}))
        if st != 201:
            fail(f"{what}: pause {pid}: HTTP {st}: {data[:300]!r}")
    deadline = time.monotonic() + ttl_ms / 1000.0
    for pid in pids:
        if state(pid) != "T":
            fail(f"{what}: {pid} is in state {state(pid)}, not stopped")
    while any(state(p) == "T" for p in pids) and time.monotonic() < deadline + 5:
        time.sleep(0.005)
    late = time.monotonic() - deadline
    if any(state(p) == "T" for p in pids) or late > 1.0:
        fail(f"{what}: the leases did not all fire on time: {late:.3f} s past the deadline")
    print(f"ok: {what}: {len(pids)} leases fired, the last {late * 1000:.0f} ms after the deadline")


def can_fifo():
    """Whether this machine lets us put a process at SCHED_FIFO 1 at all."""
    p = subprocess.Popen(["sleep", "5"])
    try:
        os.sched_setscheduler(p.pid, os.SCHED_FIFO, os.sched_param(1))
        return True
    except OSError as e:
        print(f"SKIPPED: SCHED_FIFO is not allowed here ({e}): a real-time budget or "
              "CAP_SYS_NICE is missing")
        return False
    finally:
        p.kill()
        p.wait()


def rlimit_only(agent, dirs, procs):
    """Part 2, a CTest test of its own (agent.lease_priority_rlimit) so that where it
    cannot run it is counted as skipped: RLIMIT_RTPRIO 1 and no CAP_SYS_NICE."""
    r = subprocess.run(["prlimit", "--rtprio=1", "true"], capture_output=True, text=True)
    if r.returncode != 0:
        print("SKIPPED: this root cannot raise RLIMIT_RTPRIO (no CAP_SYS_RESOURCE): "
              + r.stderr.strip())
        return 77
    d = tempfile.mkdtemp(prefix="fl-leaseprio-")
    dirs.append(d)
    write_token(d)
    cfg = write_config(d, {"lease_priority": 1})
    p, _ = start_agent(agent, d, extra=["--config", cfg],
                       wrapper=["prlimit", "--rtprio=1", "setpriv",
                                "--bounding-set=-sys_nice", "--"])
    procs.append(p)
    wait_for("RLIMIT_RTPRIO 1", lambda: policies(p.pid, True))
    if "sys_nice" in open(f"{d}/agent.log").read():
        fail("CAP_SYS_NICE is kept though the bounding set has none")
    print("ok: with RLIMIT_RTPRIO 1 and no CAP_SYS_NICE: SCHED_FIFO 1 all the same")
    return 0


def main():
    agent = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIPPED: needs root (the agent keeps CAP_SYS_NICE only if it has it)")
        return 77
    if not can_fifo():
        return 77
    kids, procs, dirs = [], [], []
    try:
        if not shutil.which("setpriv") or not shutil.which("prlimit"):
            print("SKIPPED: setpriv or prlimit (util-linux) is missing")
            return 77
        if len(sys.argv) > 2 and sys.argv[2] == "--rlimit":
            return rlimit_only(agent, dirs, procs)
        # 1. lease_priority 1, RLIMIT_RTPRIO 0: through CAP_SYS_NICE alone.
        d = tempfile.mkdtemp(prefix="fl-leaseprio-")
        dirs.append(d)
        token = write_token(d)
        cfg = write_config(d, {"lease_priority": 1})
        p, sock = start_agent(agent, d, extra=["--config", cfg],
                              wrapper=["prlimit", "--rtprio=0", "--"])
        procs.append(p)
        wait_for("the log", lambda: log_has(d, 'msg="leases run at SCHED_FIFO" lease_priority=1'))
        if "sys_nice(permitted)" not in open(f"{d}/agent.log").read():
            fail("the kept capabilities do not name sys_nice(permitted)")
        wait_for("lease_priority 1", lambda: policies(p.pid, True))
        seen = {}
        for tid, comm in threads(p.pid):
            seen.setdefault(comm, []).append(tid)
            if cap_mask(p.pid, tid, "CapEff") & (1 << CAP_SYS_NICE):
                fail(f"thread {tid} ({comm}) has CAP_SYS_NICE effective")
            if not cap_mask(p.pid, tid, "CapPrm") & (1 << CAP_SYS_NICE):
                fail(f"thread {tid} ({comm}) lacks CAP_SYS_NICE permitted")
        for comm in ("fl-lease", "fl-revert", "fl-api"):
            if comm not in seen:
                fail(f"no {comm} thread: {sorted(seen)}")
        print(f"ok: fl-lease and {len(seen['fl-revert'])} fl-revert at SCHED_FIFO 1 "
              f"(reset on fork), {len(seen['fl-api'])} fl-api and the rest SCHED_OTHER, "
              "CAP_SYS_NICE effective nowhere")

        kids = [subprocess.Popen(["sleep", "300"]) for _ in range(6)]
        pause_and_wait(sock, token, [k.pid for k in kids], 1000, "fifo")
        workers = [tid for tid, comm in threads(p.pid) if comm == "fl-revert"]
        wait_for("after the burst", lambda: policies(p.pid, True))
        print(f"ok: {len(workers)} revert workers after the burst, each SCHED_FIFO 1")
        p.terminate()
        if p.wait(10) != 0:
            fail(f"the agent exited {p.returncode}")

        # 3. No CAP_SYS_NICE, RLIMIT_RTPRIO 0: warnings, the normal priority, leases work.
        d = tempfile.mkdtemp(prefix="fl-leaseprio-")
        dirs.append(d)
        token = write_token(d)
        cfg = write_config(d, {"lease_priority": 1})
        p, sock = start_agent(agent, d, extra=["--config", cfg],
                              wrapper=["prlimit", "--rtprio=0", "setpriv",
                                       "--bounding-set=-sys_nice", "--"])
        procs.append(p)
        wait_for("no privilege", lambda: log_has(d, "leases run at the normal priority"))
        wait_for("no privilege", lambda: log_has(
            d, 'msg="workers run at the normal priority: cannot set SCHED_FIFO" workers=fl-revert'))
        wait_for("no privilege", lambda: policies(p.pid, False))
        print("ok: without CAP_SYS_NICE or RLIMIT_RTPRIO: warnings, every thread SCHED_OTHER")
        kid = subprocess.Popen(["sleep", "300"])
        kids.append(kid)
        pause_and_wait(sock, token, [kid.pid], 1000, "unprivileged")
        p.terminate()
        p.wait(10)

        # 4. Out of range: refused at start, the field named.
        d = tempfile.mkdtemp(prefix="fl-leaseprio-")
        dirs.append(d)
        write_token(d)
        cfg = write_config(d, {"lease_priority": 100})
        r = subprocess.run([agent, "--listen", f"unix:{d}/agent.sock", "--token-file",
                            f"{d}/token", "--state-dir", f"{d}/state", "--config", cfg],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 2 or "$.lease_priority" not in r.stderr:
            fail(f"lease_priority 100: exit {r.returncode}, {r.stderr[-500:]!r}")
        print("ok: lease_priority 100 is refused (exit 2, $.lease_priority)")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for k in kids:
            k.kill()
            k.wait()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
