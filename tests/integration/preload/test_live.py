"""Live arm/disarm of a running process by writing its table, the way the
agent does: a process started with the shim registers /dev/shm/faultline-<pid>;
fl-arm writes rules into it while the process runs; the lease deadline in the
table disarms on its own; the table is gone when the process exits."""
import os
import subprocess

from fltest import LINE, Checks, TempDir, env

HT = env("FL_HOOKTEST")
SHIM = env("FL_SHIM")
ARM = env("FL_ARM")


def start(f, n=2000, ms=10):
    e = dict(os.environ, LD_PRELOAD=SHIM)
    e.pop("FAULTLINE_SHM", None)
    return subprocess.Popen([HT, "repeat", str(n), str(ms), "write", f], stdout=subprocess.PIPE,
                            text=True, env=e)


def errno_of(line):
    m = LINE.match(line)
    return m[3] if m else "?"


def read_until(p, want, limit=200):
    """Read lines until one has errno `want`; returns how many came before."""
    for i in range(limit):
        line = p.stdout.readline()
        if not line:
            return -1
        if errno_of(line) == want:
            return i
    return -1


def arm(pid, *args):
    return subprocess.run([ARM, "--pid", str(pid)] + list(args), capture_output=True, text=True,
                          timeout=10)


def main():
    c = Checks()
    with TempDir() as d:
        f = d + "/out"
        p = start(f)
        try:
            first = p.stdout.readline()
            table = f"/dev/shm/faultline-{p.pid}"
            c.check(errno_of(first) == "0", f"unarmed write succeeds: {first.strip()}")
            c.check(os.path.exists(table), f"the process registered {table}")
            r = arm(p.pid, "write:EIO")
            c.check(r.returncode == 0, f"fl-arm write:EIO: {r.stderr.strip()}")
            c.check(read_until(p, "EIO") >= 0, "armed live: writes start failing with EIO")
            three = [errno_of(p.stdout.readline()) for _ in range(3)]
            c.check(three == ["EIO"] * 3, f"and keep failing: {three}")
            r = arm(p.pid, "--disarm")
            c.check(r.returncode == 0, "fl-arm --disarm")
            c.check(read_until(p, "0") >= 0, "disarmed live: writes succeed again")
            three = [errno_of(p.stdout.readline()) for _ in range(3)]
            c.check(three == ["0"] * 3, f"and keep succeeding: {three}")
            # the lease deadline in the table: faults stop by themselves
            r = arm(p.pid, "--expire-ms", "300", "write:ENOSPC")
            c.check(read_until(p, "ENOSPC") >= 0, "armed with a 300 ms lease: ENOSPC")
            c.check(read_until(p, "0", limit=100) >= 0,
                    "the lease expired without a disarm: writes succeed")
            # rewriting the rules restarts `when` counting
            arm(p.pid, "write:EIO:when=2")
            seq = [errno_of(p.stdout.readline()) for _ in range(30)]
            c.check(seq.count("EIO") == 1, f"when=2 after a live re-arm fails exactly once")
        finally:
            p.kill()
            p.wait()
        # a normal exit removes the table
        p = start(f, n=2, ms=1)
        p.communicate(timeout=10)
        c.check(p.returncode == 0 and not os.path.exists(f"/dev/shm/faultline-{p.pid}"),
                "a process that exits removes its table")
        # FAULTLINE_SHM= (empty) opts out of registering
        e = dict(os.environ, LD_PRELOAD=SHIM, FAULTLINE_SHM="")
        p = subprocess.Popen([HT, "repeat", "20", "10", "write", f], stdout=subprocess.PIPE,
                             text=True, env=e)
        p.stdout.readline()
        c.check(not os.path.exists(f"/dev/shm/faultline-{p.pid}"),
                "FAULTLINE_SHM= (empty) does not register")
        p.kill()
        p.wait()
    c.done()


main()
