"""Proof of effect for the shim kinds through a real faultline-agent: the 201
answer, a live GET and the DELETE answer carry an "effect" with each rule's
hits, counted by the shim in the target's table. A rule the program keeps
hitting took effect (hits > 0, live and final); a rule on a path the program
never opens took none (hits 0, "took_effect": false); a lease revert keeps the
final count for the DELETE that comes after it."""
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
        e = dict(os.environ, LD_PRELOAD=SHIM)
        e.pop("FAULTLINE_SHM", None)
        p = subprocess.Popen([HT, "repeat", "3000", "10", "write", d + "/out"],
                             stdout=subprocess.PIPE, text=True, env=e)
        try:
            a.start_or_fail(c)
            c.check(errno_of(p.stdout.readline()) == "0", "unarmed writes succeed")

            # A rule the program hits: counted live and at the end.
            st, body = a.apply("e1", p.pid, ["write:EIO"])
            eff = (body or {}).get("effect") or {}
            c.check(st == 201 and eff.get("rules") and eff["rules"][0]["rule"] == "write:EIO",
                    f"201 carries the effect with the rule's words: {st} {eff}")
            c.check(read_until(p, "EIO") and read_until(p, "EIO"), "writes fail with EIO")
            st, body = a.http("GET", "/v1/faults/e1")
            live = (body or {}).get("effect") or {}
            c.check(st == 200 and live.get("hits", 0) >= 2 and live.get("took_effect") is True,
                    f"GET shows the hits live: {live}")
            st, body = a.http("DELETE", "/v1/faults/e1")
            fin = (body or {}).get("effect") or {}
            c.check(st == 200 and fin.get("hits", 0) >= live.get("hits", 0)
                    and fin["rules"][0]["hits"] == fin["hits"] and fin.get("took_effect") is True,
                    f"DELETE carries the final count: {fin}")
            c.check(read_until(p, "0"), "disarmed")

            # A rule on a path the program never opens: no effect, measured.
            st, body = a.apply("e2", p.pid, ["openat:EACCES:path=/faultline-never-opened/"])
            c.check(st == 201 and (body or {}).get("effect", {}).get("hits") == 0,
                    f"applied, nothing hit yet: {st} {body and body.get('effect')}")
            n = sum(errno_of(p.stdout.readline()) == "0" for _ in range(20))
            c.check(n == 20, f"the program runs on unfaulted ({n}/20 writes ok)")
            st, body = a.http("DELETE", "/v1/faults/e2")
            fin = (body or {}).get("effect") or {}
            c.check(st == 200 and fin.get("hits") == 0 and fin.get("took_effect") is False
                    and fin.get("rules") == [{"rule": "openat:EACCES:path=/faultline-never-opened/",
                                              "hits": 0}],
                    f"zero effect reported: took_effect false: {fin}")

            # A lease revert: the DELETE after it still gets the final measure.
            st, _ = a.apply("e3", p.pid, ["write:ENOSPC"], ttl_ms=500)
            c.check(st == 201 and read_until(p, "ENOSPC"), "armed with a 500 ms lease")
            c.check(read_until(p, "0"), "the lease ended")
            time.sleep(0.2)
            st, body = a.http("DELETE", "/v1/faults/e3")
            fin = (body or {}).get("effect") or {}
            c.check(st == 200 and (body or {}).get("reverted") is False
                    and fin.get("hits", 0) >= 1 and fin.get("took_effect") is True,
                    f"the lease's revert kept the effect: {body}")

            # DELETE ?experiment=: the effects keyed by fault id.
            st, _ = a.apply("e4", p.pid, ["write:EIO"])
            c.check(st == 201 and read_until(p, "EIO"), "armed again")
            st, body = a.http("DELETE", "/v1/faults?experiment=shim-it")
            effs = (body or {}).get("effects") or {}
            c.check(st == 200 and (body or {}).get("reverted") == ["e4"]
                    and effs.get("e4", {}).get("hits", 0) >= 1,
                    f"DELETE ?experiment= answers the effects by id: {body}")
        finally:
            a.stop()
            p.kill()
            p.wait()
    c.done()


main()
