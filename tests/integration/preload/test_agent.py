"""Fault kind `syscall` through a real faultline-agent over HTTP: live arm and
disarm of a running process started with the shim, lease expiry, bad input,
agent SIGKILL -> restart -> the journal reconcile disarms, and agent SIGKILL
with no restart -> the table's own deadline (the lease, moved by renew) ends
the fault in the shim."""
import os
import subprocess
import time

from fltest import LINE, Agent, Checks, TempDir, env, skip

HT = env("FL_HOOKTEST")
SHIM = env("FL_SHIM")
AGENT = os.environ.get("FL_AGENT") or skip("faultline-agent is not built")


def errno_of(line):
    m = LINE.match(line)
    return m[3] if m else "?"


def read_until(p, want, limit=300):
    for _ in range(limit):
        line = p.stdout.readline()
        if not line:
            return False
        if errno_of(line) == want:
            return True
    return False


def main():
    c = Checks()
    with TempDir() as d:
        a = Agent(AGENT, d)
        f = d + "/out"
        e = dict(os.environ, LD_PRELOAD=SHIM)
        e.pop("FAULTLINE_SHM", None)
        p = subprocess.Popen([HT, "repeat", "3000", "10", "write", f], stdout=subprocess.PIPE,
                             text=True, env=e)
        plain = subprocess.Popen(["sleep", "30"])
        others = []
        try:
            a.start_or_fail(c)
            c.check(errno_of(p.stdout.readline()) == "0", "unarmed writes succeed")
            st, body = a.apply("s1", p.pid, ["write:EIO"])
            c.check(st == 201, f"POST syscall fault: {st} {body}")
            c.check(read_until(p, "EIO"), "armed by the agent: writes fail with EIO")
            st, _ = a.http("DELETE", "/v1/faults/s1")
            c.check(st in (200, 204), f"DELETE: {st}")
            c.check(read_until(p, "0"), "disarmed by the agent: writes succeed")
            st, _ = a.http("DELETE", "/v1/faults/s1")
            c.check(st in (200, 204, 404), f"DELETE again is harmless: {st}")

            # lease expiry: nobody calls the agent
            st, _ = a.apply("s2", p.pid, ["write:ENOSPC"], ttl_ms=400)
            t0 = time.monotonic()
            c.check(st == 201 and read_until(p, "ENOSPC"), "armed with a 400 ms lease")
            c.check(read_until(p, "0"), "the lease expired: writes succeed")
            c.check(time.monotonic() - t0 < 5, "within a few seconds")

            # bad input is refused with a JSON path, nothing applied
            st, body = a.apply("s3", p.pid, ["write:EIO", "read:EBOGUS"])
            path = (body or {}).get("error", {}).get("path", "")
            c.check(400 <= st < 500 and path == "$.params.rules[1]",
                    f"a bad rule: {st} path {path!r}")
            st, body = a.apply("s4", plain.pid, ["write:EIO"])
            path = (body or {}).get("error", {}).get("path", "")
            c.check(400 <= st < 500 and path == "$.target.pid",
                    f"a process without the shim is refused: {st} {body}")

            # agent SIGKILL while armed -> restart -> reconcile disarms
            st, _ = a.apply("s5", p.pid, ["write:EIO"], ttl_ms=600000)
            c.check(st == 201 and read_until(p, "EIO"), "armed with a long lease")
            a.kill9()
            five = [errno_of(p.stdout.readline()) for _ in range(5)]
            c.check(five == ["EIO"] * 5, f"the fault outlives the agent's SIGKILL: {five}")
            c.check(a.start(), "agent restarted on the same state dir")
            c.check(read_until(p, "0"), "reconcile on start disarmed the table")
            st, body = a.http("GET", "/v1/faults")
            c.check(st == 200 and not (body or {}).get("faults"), f"no live faults: {body}")

            # agent SIGKILL and never restarted: the table's own deadline (the
            # lease, moved by renew) disarms it in the shim
            q = subprocess.Popen([HT, "repeat", "3000", "10", "write", d + "/out2"],
                                 stdout=subprocess.PIPE, text=True, env=e)
            others.append(q)
            c.check(errno_of(q.stdout.readline()) == "0", "second process: writes succeed")
            st, _ = a.apply("s6", q.pid, ["write:EIO"], ttl_ms=600)
            t0 = time.monotonic()
            c.check(st == 201 and read_until(q, "EIO"), "armed with a 600 ms lease")
            a.kill9()
            c.check(read_until(q, "0", 600), "agent dead, no renew: the lease ends in the shim")
            gone = time.monotonic() - t0
            c.check(0.5 <= gone < 4, f"about when the lease ended ({gone:.2f} s)")
            c.check(a.start(), "agent started again")
            st, _ = a.apply("s7", q.pid, ["write:EIO"], ttl_ms=700)
            c.check(st == 201 and read_until(q, "EIO"), "armed with a 700 ms lease")
            st, body = a.http("POST", "/v1/faults/s7/renew", {"ttl_ms": 2500})
            t0 = time.monotonic()
            c.check(st == 200, f"renewed to 2.5 s: {st} {body}")
            a.kill9()
            time.sleep(1.2)
            late = []
            while time.monotonic() - t0 < 2.0:
                late.append(errno_of(q.stdout.readline()))
            c.check(late and set(late[-5:]) == {"EIO"},
                    f"past the first lease, the renewed one holds (agent dead): {late[-5:]}")
            c.check(read_until(q, "0", 600), "after the renewed lease, writes succeed again")
            gone = time.monotonic() - t0
            c.check(2.3 <= gone < 6, f"about when the renewed lease ended ({gone:.2f} s)")
            five = [errno_of(q.stdout.readline()) for _ in range(5)]
            c.check(five == ["0"] * 5, f"and stay clean with no agent at all: {five}")
        finally:
            a.stop()
            for q in [p, plain] + others:
                q.kill()
                q.wait()
    c.done()


main()
