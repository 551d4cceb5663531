"""The shim's names cannot collide with an application's (libfiu tests/collisions):
it exports exactly the hooked libc names, and a program that defines every one
of its internal names as its own globals keeps them while the shim still works."""
import re
import subprocess

from fltest import Checks, env, exec_cmd, run

SHIM = env("FL_SHIM")
COLLIDE = env("FL_COLLIDE")
HOOKED = set("""read __read_chk write pread pread64 __pread_chk __pread64_chk pwrite pwrite64
readv writev open open64 openat openat64 __open_2 __open64_2 __openat_2 __openat64_2 close fsync
fdatasync shutdown connect accept accept4 send sendto sendmsg recv __recv_chk recvfrom
__recvfrom_chk recvmsg getaddrinfo gethostbyname gethostbyname2 gethostbyname_r gethostbyname2_r
res_query res_search res_querydomain res_nquery res_nsearch res_nquerydomain __res_query
__res_search __res_querydomain __res_nquery __res_nsearch __res_nquerydomain clock_gettime
gettimeofday time timespec_get clock_nanosleep poll __poll_chk ppoll __ppoll_chk select pselect
epoll_wait epoll_pwait""".split())


def nm(*args):
    return subprocess.run(["nm"] + list(args), capture_output=True, text=True).stdout


def main():
    c = Checks()
    exported = {l.split()[-1] for l in nm("-D", "--defined-only", SHIM).splitlines() if l.strip()}
    c.check(exported == HOOKED, f"exports exactly the hooked names (extra: {exported - HOOKED}, "
            f"missing: {HOOKED - exported})")
    local = {m[1] for m in re.finditer(r" [tTdDbBrR] (fl_\w+)$", nm(SHIM), re.M)}
    app = {m[1] for m in re.finditer(r" [TDB] (fl_\w+)$", nm(COLLIDE), re.M)}
    c.check(bool(local) and local <= app,
            f"fl-collide defines all {len(local)} internal names (missing: {local - app})")
    r = run(exec_cmd(["write:EIO:fd=1"], [COLLIDE]))
    c.check("own names ok" in r.stderr, f"the program's names stay its own: {r.stderr.strip()}")
    c.check("write ret=-1 errno=EIO" in r.stderr, "and the shim still injects EIO")
    c.done()


main()
