"""The `time` kind on a command the agent launches: a time namespace of the
command's own offsets CLOCK_MONOTONIC and CLOCK_BOOTTIME for readers the
shim cannot see, through a real faultline-agent:

- +2h on monotonic/boottime: /proc/uptime (cat), a statically linked
  program's clock_gettime (the vDSO) and raw clock_gettime syscalls all
  read 2 h ahead (within 3 s); a shimmed program reads 2 h ahead too, not
  4 (the shim leaves those clocks to the namespace) while CLOCK_REALTIME,
  named as well, is skewed by the shim alone; the effect says "timens":
  true with the offsets; DELETE stops the command;
- without the namespace (realtime only, or on_revert "keep") the static
  program reads the real clocks, and the effect says "timens": false with
  the reason;
- a negative offset larger than the uptime is refused with 400 at
  $.params.offset, and nothing is left behind (no command, no table, no
  fault);
- the table's lease deadline is moved onto the command's clock: with the
  agent SIGKILLed, the shim's realtime skew still lapses when the lease
  ends; the restarted agent's reconcile stops the command."""
import ctypes
import glob
import os
import shutil
import time

from fltest import Agent, Checks, TempDir, alive, env, pid_of, reap_orphans, skip, wait_for

AGENT = os.environ.get("FL_AGENT") or skip("faultline-agent is not built")
STATIC = env("FL_STATIC_CLOCK")
HT = env("FL_HOOKTEST")
SH = shutil.which("sh") or skip("sh is missing")
CAT = shutil.which("cat") or skip("cat is missing")
S = 1000000000
H2 = 7200 * S

if not os.path.exists("/proc/self/ns/time"):
    skip("this kernel has no time namespaces (no /proc/self/ns/time)")
if os.geteuid() != 0:
    skip("entering a time namespace needs root (CAP_SYS_ADMIN, CAP_SYS_TIME)")


def post(a, fid, target, params, ttl_ms=60000, dry=False):
    return a.http("POST", "/v1/faults" + ("?dry_run=1" if dry else ""),
                  {"id": fid, "experiment": "timens-it", "kind": "time", "target": target,
                   "params": params, "ttl_ms": ttl_ms})


def loop(out):
    """uptime, the static program's four readings and the shimmed hooktest's, every 0.2 s."""
    return {"command": [SH, "-c",
                        f'while :; do echo "u $({CAT} /proc/uptime)"; {STATIC}; '
                        f'echo "h $({HT} clocks)"; sleep 0.2; done'],
            "output": out}


def fresh(path, secs=10.0):
    """The readings of one whole round written after now (the next "u", "c"
    and "h" lines after a first "u"), each with the host's clocks read just
    after: {"u": seconds, "c": {...}, "h": {...}}, host."""
    start = os.path.getsize(path) if os.path.exists(path) else 0
    got = {}

    def more():
        with open(path) as f:
            f.seek(start)
            text = f.read()
        lines = text.splitlines()[1:]  # the first may be half-written
        for i, l in enumerate(lines):
            if l.startswith("u ") and i + 2 < len(lines) and text.endswith("\n"):
                c, h = lines[i + 1], lines[i + 2]
                if c.startswith("c ") and h.startswith("h "):
                    got["u"] = float(l.split()[1])
                    got["c"] = dict(kv.split("=") for kv in c.split()[1:])
                    got["h"] = dict(kv.split("=") for kv in h.split()[2:] if "=" in kv)
                    return True
        return False
    ok = wait_for(more, secs)
    host = {"mono": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
            "boot": time.clock_gettime_ns(time.CLOCK_BOOTTIME),
            "rt": time.clock_gettime_ns(time.CLOCK_REALTIME)}
    return (got if ok else None), host


def near(a, b, tol=3 * S):
    return abs(a - b) <= tol


def skews(r, host):
    """Each reading minus the host's clock, in seconds."""
    c, h = r["c"], r["h"]
    return {"uptime": r["u"] - host["boot"] / S,
            "static mono": (int(c["mono"]) - host["mono"]) / S,
            "static raw mono": (int(c["raw_mono"]) - host["mono"]) / S,
            "static boot": (int(c["boot"]) - host["boot"]) / S,
            "static raw boot": (int(c["raw_boot"]) - host["boot"]) / S,
            "shim mono": (int(h["mono"]) - host["mono"]) / S,
            "shim boot": (int(h["boot"]) - host["boot"]) / S,
            "shim rt": (int(h["rt"]) - host["rt"]) / S}


def tables():
    return set(glob.glob("/dev/shm/faultline-cmd-*"))


def main():
    c = Checks()
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    with TempDir() as d:
        a = Agent(AGENT, d)
        try:
            a.start_or_fail(c)
            check_on(c, a, d)
            check_off(c, a, d)
            check_negative(c, a, d)
            check_crash(c, a, d)
        finally:
            a.stop()
            reap_orphans()
    c.done()


def check_on(c, a, d):
    out = d + "/on.out"
    st, plan = post(a, "ns-dry", loop(out), {"offset": "+2h", "clock_ids": [
        "CLOCK_MONOTONIC", "CLOCK_BOOTTIME"]}, dry=True)
    desc = (plan or {}).get("description", "")
    c.check(st == 200 and "time namespace: the command enters one with offsets "
            "CLOCK_MONOTONIC +2h, CLOCK_BOOTTIME +2h" in desc, f"dry run: {st} {desc!r}")
    st, body = post(a, "ns-on", loop(out), {"offset": "+2h", "clock_ids": [
        "CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_BOOTTIME"]})
    c.check(st == 201, f"POST time +2h on a launched command: {st} {body}")
    pid = pid_of(body)
    eff = (body or {}).get("effect") or {}
    c.check(eff.get("timens") is True and eff.get("timens_offsets") ==
            {"CLOCK_MONOTONIC": "+2h", "CLOCK_BOOTTIME": "+2h"} and eff.get("took_effect"),
            f"effect: timens true with the offsets: {eff}")
    c.check([r.get("rule") for r in eff.get("rules", [])] == ["time:offset=+2h"],
            f"the shim keeps CLOCK_REALTIME only: {eff.get('rules')}")
    r, host = fresh(out)
    sk = skews(r, host) if r else {}
    c.check(sk and all(near(v * S, H2) for k, v in sk.items()),
            f"every reader is 2 h ahead (+-3 s): {({k: round(v, 1) for k, v in sk.items()})}")
    with open(f"/proc/{pid}/timens_offsets") as f:
        offs = f.read().split()
    c.check(offs == ["monotonic", "7200", "0", "boottime", "7200", "0"],
            f"/proc/{pid}/timens_offsets: {offs}")
    st, g = a.http("GET", "/v1/faults/ns-on")
    ge = (g or {}).get("effect") or {}
    c.check(st == 200 and ge.get("timens") is True and ge.get("hits", 0) > 0,
            f"GET: effect timens true, the shim's realtime hits counted: {ge}")
    st, _ = a.http("DELETE", "/v1/faults/ns-on")
    c.check(st in (200, 204) and wait_for(lambda: not alive(pid) and (reap_orphans() or True)),
            f"DELETE stops the command in its namespace: {st}")


def check_off(c, a, d):
    out = d + "/off.out"
    st, body = post(a, "ns-rt", loop(out), {"offset": "+2h"})
    c.check(st == 201, f"POST time +2h, CLOCK_REALTIME only: {st} {body}")
    pid = pid_of(body)
    eff = (body or {}).get("effect") or {}
    c.check(eff.get("timens") is False and "CLOCK_REALTIME" in eff.get("timens_reason", ""),
            f"effect: timens false, realtime is not a namespace's: {eff}")
    r, host = fresh(out)
    sk = skews(r, host) if r else {}
    c.check(sk and all(near(v * S, H2 if k == "shim rt" else 0) for k, v in sk.items()),
            f"no namespace: monotonic/boottime real, the shim's realtime +2h: "
            f"{({k: round(v, 1) for k, v in sk.items()})}")
    c.check(os.readlink(f"/proc/{pid}/ns/time") == os.readlink("/proc/self/ns/time"),
            "the command shares the agent's time namespace")
    a.http("DELETE", "/v1/faults/ns-rt")
    wait_for(lambda: not alive(pid) and (reap_orphans() or True))

    out = d + "/keep.out"
    target = dict(loop(out), on_revert="keep")
    st, body = post(a, "ns-keep", target, {"offset": "+2h", "clock_ids": ["CLOCK_MONOTONIC"]})
    pid = pid_of(body)
    eff = (body or {}).get("effect") or {}
    c.check(st == 201 and eff.get("timens") is False and "keep" in eff.get("timens_reason", ""),
            f"on_revert keep: no namespace, and why: {st} {eff}")
    r, host = fresh(out)
    sk = skews(r, host) if r else {}
    c.check(sk and near(sk["static mono"] * S, 0) and near(sk["shim mono"] * S, H2),
            f"keep: the shim alone skews monotonic: {sk}")
    a.http("DELETE", "/v1/faults/ns-keep")
    if pid:
        os.kill(pid, 9)
        wait_for(lambda: not alive(pid) and (reap_orphans() or True))


def check_negative(c, a, d):
    before = tables()
    up = int(float(open("/proc/uptime").read().split()[0]))
    out = d + "/neg.out"
    st, body = post(a, "ns-neg", loop(out), {"offset": f"-{up + 3600}s",
                                             "clock_ids": ["CLOCK_BOOTTIME"]})
    err = (body or {}).get("error") or body or {}
    c.check(st == 400 and "$.params.offset" in str(err) and "below zero" in str(err),
            f"an offset past boot is refused at $.params.offset: {st} {body}")
    c.check(not os.path.exists(out) and tables() == before,
            "nothing left: no command ran, no table")
    st, g = a.http("GET", "/v1/faults")
    c.check(not [f for f in (g or {}).get("faults", []) if f.get("id") == "ns-neg"],
            f"and no fault: {g}")
    # Within the uptime, negative works: 10 minutes back.
    st, body = post(a, "ns-neg2", loop(out), {"offset": "-10m",
                                              "clock_ids": ["CLOCK_MONOTONIC", "CLOCK_BOOTTIME"]})
    pid = pid_of(body)
    r, host = fresh(out)
    sk = skews(r, host) if r else {}
    c.check(st == 201 and sk and all(near(v * S, 0 if k == "shim rt" else -600 * S)
                                      for k, v in sk.items()),
            f"-10m: monotonic and boottime 10 minutes back: {st} {sk}")
    a.http("DELETE", "/v1/faults/ns-neg2")
    wait_for(lambda: not alive(pid) and (reap_orphans() or True))


def check_crash(c, a, d):
    out = d + "/crash.out"
    st, body = post(a, "ns-crash", loop(out), {"offset": "-10m", "clock_ids": [
        "CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_BOOTTIME"]}, ttl_ms=5000)
    pid = pid_of(body)
    r, host = fresh(out)
    sk = skews(r, host) if r else {}
    c.check(st == 201 and sk and all(near(v * S, -600 * S) for v in sk.values()),
            f"-10m on every clock, realtime by the shim: {st} {sk}")
    a.kill9()
    c.check(alive(pid), "agent SIGKILLed: the command runs on in its namespace")
    # The table's own deadline is on the command's (offset) monotonic clock: the
    # lease still ends the shim's skew on time, 10 minutes early on the clock it reads.
    time.sleep(5)
    r, host = fresh(out)
    sk = skews(r, host) if r else {}
    c.check(sk and near(sk["shim rt"] * S, 0) and near(sk["static mono"] * S, -600 * S),
            f"past the lease, with no agent: the shim's realtime skew lapsed, the "
            f"namespace's stays while the command runs: {sk}")
    c.check(a.start(), "agent restarted")
    c.check(wait_for(lambda: not alive(pid) and (reap_orphans() or True), 10),
            "reconcile stopped the command (same pid and start time as journalled)")

main()
