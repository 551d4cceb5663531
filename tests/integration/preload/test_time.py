"""time rules: clock skew in real programs (date, python3, fl-hooktest's clock
readers), by faultline exec and live through a registered table (the way the
agent arms a running process)."""
import os
import re
import shutil
import subprocess
import time

from fltest import Checks, env, exec_cmd, parse, run

HT = env("FL_HOOKTEST")
SHIM = env("FL_SHIM")
ARM = env("FL_ARM")
KV = re.compile(r"(\w+)=(-?\d+)")
S = 1000000000


def clocks(rules):
    r = run(exec_cmd(rules, [HT, "clocks"]))
    return {k: int(v) for k, v in KV.findall(r.stdout)}, r


def real_now():
    return {"rt": time.clock_gettime_ns(time.CLOCK_REALTIME),
            "mono": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
            "boot": time.clock_gettime_ns(time.CLOCK_BOOTTIME)}


def near(a, b, tol=3 * S):
    return abs(a - b) <= tol


def main():
    c = Checks()
    date = shutil.which("date")

    # date(1): what a user checks. +%s is the realtime clock in seconds.
    if not date:
        c.check(False, "date is missing (coreutils)")
    else:
        for off, secs in (("+1h", 3600), ("-2d", -2 * 86400), ("+3650d", 3650 * 86400),
                          ("-90s", -90)):
            r = run(exec_cmd([f"time:offset={off}"], [date, "+%s"]))
            now = int(time.time())
            got = int(r.stdout.strip() or 0)
            c.check(r.returncode == 0 and near(got - now, secs, 3),
                    f"date +%s under time:offset={off} is {got - now:+d}s off (want {secs:+d})")
        r = run(exec_cmd(["time:offset=+1d"], [date, "-u", "+%Y-%m-%d"]))
        want = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
        c.check(r.stdout.strip() == want, f"date shows tomorrow: {r.stdout.strip()} == {want}")

    # Every reader agrees on realtime; monotonic and boottime are left alone by default.
    base = real_now()
    got, r = clocks(["time:offset=+1h"])
    c.check(all(near(got[k], base["rt"] + 3600 * S) for k in ("rt", "coarse", "tod", "tsget")),
            f"clock_gettime, REALTIME_COARSE, gettimeofday, timespec_get +1h: {r.stdout.strip()}")
    c.check(near(got["tai"], base["rt"] + 3600 * S, 60 * S), "CLOCK_TAI +1h (tai offset aside)")
    c.check(near(got["time"] * S, base["rt"] + 3600 * S), "time() +1h")
    c.check(near(got["mono"], base["mono"]) and near(got["boot"], base["boot"]),
            "CLOCK_MONOTONIC and CLOCK_BOOTTIME untouched by default")
    # Named clocks: monotonic and boottime skewed, realtime not; never below zero.
    base = real_now()
    got, r = clocks(["time:offset=+1h:clock=monotonic,boottime"])
    c.check(near(got["mono"], base["mono"] + 3600 * S) and
            near(got["boot"], base["boot"] + 3600 * S) and near(got["rt"], base["rt"]),
            f"clock=monotonic,boottime: those +1h, realtime untouched: {r.stdout.strip()}")
    got, r = clocks(["time:offset=-36500d:clock=monotonic"])
    c.check(got.get("mono") == 0, f"a monotonic reading is never negative: {got.get('mono')}")
    # Two rules: the clock of each.
    base = real_now()
    got, _ = clocks(["time:offset=-1h", "time:offset=+2h:clock=monotonic"])
    c.check(near(got["rt"], base["rt"] - 3600 * S) and near(got["mono"], base["mono"] + 7200 * S),
            "two time rules, one per clock")

    # An absolute sleep on the skewed clock lasts what the program asked for.
    r = run(exec_cmd(["time:offset=+1h"], [HT, "abssleep", "300"]), timeout=20)
    res = parse(r.stdout)
    c.check(res and res[0][1] == 0 and 290 <= res[0][3] < 5000,
            f"clock_nanosleep(TIMER_ABSTIME) to skewed now+300ms takes ~300 ms: {res}")

    # python3: time.time() and datetime see the offset.
    r = run(exec_cmd(["time:offset=-1d"], ["/usr/bin/python3", "-c",
                                           "import time; print(int(time.time()))"]))
    c.check(near(int(r.stdout.strip() or 0), int(time.time()) - 86400, 3),
            f"python3 time.time() -1d: {r.stdout.strip()}")

    # Live: a process started with the shim, armed and disarmed through its table.
    e = dict(os.environ, LD_PRELOAD=SHIM)
    e.pop("FAULTLINE_SHM", None)
    p = subprocess.Popen([HT, "repeat", "400", "25", "clocks"], stdout=subprocess.PIPE,
                         text=True, env=e)
    try:
        def reading():
            m = dict((k, int(v)) for k, v in KV.findall(p.stdout.readline()))
            return m.get("rt", 0) - time.clock_gettime_ns(time.CLOCK_REALTIME)

        c.check(near(reading(), 0), "live: unarmed, no skew")
        r = subprocess.run([ARM, "--pid", str(p.pid), "time:offset=+2h"], capture_output=True,
                           text=True, timeout=10)
        c.check(r.returncode == 0, f"fl-arm time:offset=+2h: {r.stderr.strip()}")
        skewed = any(near(reading(), 7200 * S) for _ in range(40))
        c.check(skewed, "live: the running process's clock jumps 2h ahead")
        hits = subprocess.run([ARM, "--pid", str(p.pid), "--hits"], capture_output=True,
                              text=True, timeout=10).stdout.split()
        c.check(hits and int(hits[0]) >= 1, f"live: the rule's hit count counts readings: {hits}")
        subprocess.run([ARM, "--pid", str(p.pid), "--disarm"], timeout=10)
        back = any(near(reading(), 0) for _ in range(40))
        c.check(back, "live: disarmed, the clock is back")
    finally:
        p.kill()
        p.wait()
    c.done()


main()
