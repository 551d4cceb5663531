"""A shimmed process's table appears in /dev/shm whole: the name the agent
opens (/dev/shm/faultline-<pid>) shows up by a rename of a finished table,
never as an empty file that is sized and filled afterwards. An agent that
found the half-built file used to refuse a fault on a process that had just
started ("not a faultline table (its owner truncated or replaced it)").

Watched with inotify: the final name must arrive by IN_MOVED_TO, never by
IN_CREATE, and the table must be full size with its magic the moment it is
seen. The process removes it when it exits, and no build name is left."""
import ctypes
import os
import select
import struct
import subprocess
import time

from fltest import Checks, env

SHIM = env("FL_SHIM")
SHM = "/dev/shm"
IN_CREATE, IN_MOVED_TO = 0x100, 0x80
SIZE, MAGIC = 65536, 0x31304D48534C4655
N = 20


def events(fd, timeout):
    """inotify events read within timeout seconds: [(mask, name)]."""
    out = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        buf = os.read(fd, 65536)
        off = 0
        while off < len(buf):
            _, mask, _, ln = struct.unpack_from("iIII", buf, off)
            name = buf[off + 16:off + 16 + ln].split(b"\0", 1)[0].decode()
            out.append((mask, name))
            off += 16 + ln
        return out
    return out


def table_ok(path):
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            head = f.read(16)
    except OSError as e:
        return f"cannot open: {e.strerror}"
    if st.st_size != SIZE:
        return f"size {st.st_size}, not {SIZE}"
    if len(head) < 16 or struct.unpack_from("<Q", head, 8)[0] != MAGIC:
        return "no magic"
    return ""


def main():
    c = Checks()
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    c.check(fd >= 0, "inotify_init1")
    wd = libc.inotify_add_watch(fd, SHM.encode(), IN_CREATE | IN_MOVED_TO)
    c.check(wd >= 0, f"watch {SHM}")
    procs, created, torn = [], [], []
    try:
        for _ in range(N):
            e = dict(os.environ, LD_PRELOAD=SHIM)
            e.pop("FAULTLINE_SHM", None)
            p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 env=e)
            procs.append(p)
            want = f"faultline-{p.pid}"
            seen = None
            end = time.monotonic() + 10
            while seen is None and time.monotonic() < end:
                for mask, name in events(fd, end - time.monotonic()):
                    if name == want and seen is None:
                        seen = mask
                        bad = table_ok(f"{SHM}/{name}")
                        if bad:
                            torn.append(f"{name}: {bad}")
                    if name == want and mask & IN_CREATE:
                        created.append(name)
            c.check(seen is not None, f"{want} registered")
        c.check(not created, f"the final name is never created empty: {created}")
        c.check(not torn, f"a table is whole the moment its name appears: {torn}")
        left = [n for n in os.listdir(SHM)
                if n.startswith(".faultline-new-") and int(n.rsplit("-", 1)[1]) in
                {p.pid for p in procs}]
        c.check(not left, f"no build name is left behind: {left}")
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=10)
    gone = [p.pid for p in procs if os.path.exists(f"{SHM}/faultline-{p.pid}")]
    c.check(not gone, f"each process removed its table at exit: {gone}")
    os.close(fd)
    c.done()


main()
