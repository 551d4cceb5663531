"""Table-driven hook tests: each hooked function x fault x filter, run through
faultline exec (fl-exec) against hooktest, with the expected return values and
errno names, one line per call (after libfiu's tests/generated/*.conf)."""
import os
import socket

from fltest import Checks, TempDir, env, exec_cmd, free_port, parse, run

HT = env("FL_HOOKTEST")
ok = lambda n=64: (n, "0")
err = lambda e: (-1, e)
EAI_SYSTEM = socket.EAI_SYSTEM


def table(d, f, p):
    """(rules, hooktest args, expected [(ret, errno)], extra check or None)"""
    other = d + "/other"
    return [
        # read family
        (["read:EIO"], ["read", f], [err("EIO")], None),
        (["read:EIO:fd=999"], ["read", f], [ok()], None),
        (["read:short=10"], ["read", f], [ok(10)], None),
        (["read:EIO:path=" + d + "/"], ["read", f], [err("EIO")], None),
        (["read:EIO:path=/nonexistent/"], ["read", f], [ok()], None),
        (["read:EIO:when=2..3"], ["read", f, "4"], [ok(), err("EIO"), err("EIO"), ok()], None),
        (["read:EIO:when=1+2"], ["read", f, "5"],
         [err("EIO"), ok(), err("EIO"), ok(), err("EIO")], None),
        (["read:short=10:when=2..4+2"], ["read", f, "5"], [ok(), ok(10), ok(), ok(10), ok()], None),
        (["read:EIO:p=0"], ["read", f, "3"], [ok()] * 3, None),
        (["read:EIO:p=100%"], ["read", f, "2"], [err("EIO")] * 2, None),
        (["pread:EIO"], ["pread", f], [err("EIO")], None),
        (["pread64:ENOSPC"], ["pread64", f], [err("ENOSPC")], None),
        (["pread:short=5"], ["pread64", f], [ok(5)], None),
        (["readv:short=10"], ["readv", f], [ok(10)], None),
        (["readv:EINTR:fd=3"], ["readv", f], [err("EINTR")], None),
        # write family
        (["write:ENOSPC"], ["write", f], [err("ENOSPC")], None),
        (["write:short=3"], ["write", f], [ok(3)], None),
        (["write:EIO:path=" + other], ["write", f], [ok()], None),
        (["pwrite:EDQUOT"], ["pwrite", f], [err("EDQUOT")], None),
        (["pwrite64:short=7"], ["pwrite64", f], [ok(7)], None),
        (["writev:short=33"], ["writev", f], [ok(33)], None),
        (["writev:EIO:fd=999"], ["writev", f], [ok()], None),
        (["write:delay=150ms"], ["write", f], [ok()], lambda r: r[0][3] >= 140),
        (["write:EIO:delay=100ms"], ["write", f], [err("EIO")], lambda r: r[0][3] >= 90),
        # open family (ret 0 = a descriptor came back)
        (["open:ENOENT:path=" + d + "/"], ["open", f], [err("ENOENT")], None),
        (["open:ENOENT:path=/etc/"], ["open", f], [ok(0)], None),
        (["open64:EMFILE"], ["open64", f], [err("EMFILE")], None),
        (["openat:EACCES"], ["openat", f], [err("EACCES")], None),
        (["openat64:ENOENT"], ["openat64", f], [err("ENOENT")], None),
        # the open/openat trap: libc's open() makes the openat syscall, and a
        # program may call either name; a rule on one covers both unless "=name"
        (["openat:EACCES"], ["open", f], [err("EACCES")], None),
        (["openat:EACCES:path=" + d + "/"], ["open64", f], [err("EACCES")], None),
        (["open:ENOENT"], ["openat", f], [err("ENOENT")], None),
        (["=openat:EACCES"], ["open", f], [ok(0)], None),
        (["=openat:EACCES"], ["openat64", f], [err("EACCES")], None),
        (["=open:EACCES"], ["open64", f], [err("EACCES")], None),
        (["=open:EACCES"], ["openat", f], [ok(0)], None),
        (["open:delay=150ms"], ["creat", d + "/created"], [ok(0)],
         lambda r: r[0][3] >= 140 and r[0][4] == "mode=640"),
        # errno preserved on pass-through: the real ENOENT, not ours
        (["open:EIO:path=/elsewhere/"], ["open", d + "/missing"], [err("ENOENT")], None),
        # close / fsync / fdatasync
        (["close:EIO"], ["close", f], [err("EIO")], lambda r: r[0][4] == "closed=1"),
        (["fsync:EIO"], ["fsync", f], [err("EIO")], None),
        (["fsync:EIO:path=/elsewhere/"], ["fsync", f], [ok(0)], None),
        (["fdatasync:ENOSPC"], ["fdatasync", f], [err("ENOSPC")], None),
        # sockets: port/addr filters on the peer
        ([f"connect:ECONNREFUSED:port={p}"], ["connect", str(p)], [err("ECONNREFUSED")], None),
        ([f"connect:ECONNREFUSED:port={p + 1}"], ["connect", str(p)], [ok(0)], None),
        (["connect:ETIMEDOUT:addr=127.0.0.1"], ["connect", str(p)], [err("ETIMEDOUT")], None),
        (["connect:ETIMEDOUT:addr=[::1]"], ["connect", str(p)], [ok(0)], None),
        ([f"connect:delay=150ms:port={p}"], ["connect", str(p)], [ok(0)],
         lambda r: r[0][3] >= 140),
        ([f"accept:ECONNABORTED:port={p}"], ["accept", str(p)], [err("ECONNABORTED")], None),
        (["accept4:EMFILE"], ["accept4", str(p)], [err("EMFILE")], None),
        ([f"accept:EMFILE:port={p + 1}"], ["accept", str(p)], [ok(0)], None),
        ([f"send:ECONNRESET:port={p}"], ["send", str(p)], [err("ECONNRESET")], None),
        (["send:short=5"], ["send", str(p)], [ok(5)], None),
        (["sendto:EPIPE:addr=127.0.0.1"], ["sendto", str(p)], [err("EPIPE")], None),
        (["sendmsg:short=10"], ["sendmsg", str(p)], [ok(10)], None),
        ([f"sendmsg:ENOBUFS:port={p + 1}"], ["sendmsg", str(p)], [ok()], None),
        (["recv:ECONNRESET"], ["recv", str(p)], [err("ECONNRESET")], None),
        (["recv:short=7"], ["recv", str(p), "2"], [ok(7), ok(7)], None),
        ([f"recvfrom:EAGAIN:port={p}"], ["recvfrom", str(p)], [err("EAGAIN")], None),
        (["recvmsg:short=9"], ["recvmsg", str(p)], [ok(9)], None),
        (["recvmsg:ETIMEDOUT:fd=999"], ["recvmsg", str(p)], [ok()], None),
        (["recv,recvfrom,recvmsg:ECONNRESET:when=2"], ["recvfrom", str(p), "3"],
         [ok(), err("ECONNRESET"), ok()], None),
        # getaddrinfo (ret is the EAI code; EAI_SYSTEM carries an errno)
        (["getaddrinfo:EAI_NONAME:host=LocalHost"], ["getaddrinfo", "localhost"],
         [(socket.EAI_NONAME, "gai")], None),
        (["getaddrinfo:EAI_AGAIN:host=other.invalid"], ["getaddrinfo", "localhost"],
         [(0, "0")], None),
        (["getaddrinfo:EIO"], ["getaddrinfo", "localhost"], [(EAI_SYSTEM, "EIO")], None),
        (["getaddrinfo:delay=150ms"], ["getaddrinfo", "localhost"], [(0, "0")],
         lambda r: r[0][3] >= 140),
        # a rule for another function leaves this one alone
        (["read:EIO"], ["write", f], [ok()], None),
        # several rules: the first that fires acts
        (["write:EIO:when=1", "write:ENOSPC"], ["write", f, "2"],
         [err("EIO"), err("ENOSPC")], None),
        # threads: one process-wide counter, exactly 4 of 8 calls fail
        (["write:EIO:when=1..4"], ["threads", "4", "write", f, "2"], None,
         lambda r: len(r) == 8 and sum(x[2] == "EIO" for x in r) == 4),
        (["write:EIO:path=" + d + "/"], ["threads", "4", "write", f, "3"],
         [err("EIO")] * 12, None),
        # fork: the child inherits the table, and counts its own calls
        (["write:EIO:when=2"], ["fork", "write", f, "3"], [ok(), err("EIO"), ok()], None),
        # a hooked call inside a signal handler
        (["write:EIO"], ["signal", "write", f], [err("EIO")], None),
        (["read:short=3"], ["signal", "read", f], [ok(3)], None),
        # exec: the environment carries the table into the new image
        (["write:EIO"], ["exec", "write", f], [err("EIO")], None),
    ]


def main():
    c = Checks()
    before = {n for n in os.listdir("/dev/shm") if n.startswith("faultline-exec-")}
    with TempDir() as d:
        f = d + "/data"
        with open(f, "w") as fh:
            fh.write("y" * 256)
        p = free_port()
        for rules, args, want, extra in table(d, f, p):
            r = run(exec_cmd(rules, [HT] + args))
            got = parse(r.stdout)
            pairs = [(x[1], x[2]) for x in got]
            good = r.returncode == 0 and (want is None or pairs == want)
            if good and extra:
                good = bool(extra(got))
            c.check(good, f"{' '.join(rules)} | {' '.join(args[:1] + args[2:])}: "
                    f"want {want} got {pairs}"
                    + ("" if r.returncode == 0 else f" rc={r.returncode} {r.stderr.strip()}"))
            # the written file must not grow without bound: reset it
            with open(f, "w") as fh:
                fh.write("y" * 256)
        # replay: same seed, same calls -> same faults; the split is near p
        a = run(exec_cmd(["write:EIO:p=0.3"], [HT, "write", f, "400"], seed=42)).stdout
        b = run(exec_cmd(["write:EIO:p=0.3"], [HT, "write", f, "400"], seed=42)).stdout
        o = run(exec_cmd(["write:EIO:p=0.3"], [HT, "write", f, "400"], seed=43)).stdout
        pa = [x[2] for x in parse(a)]
        po = [x[2] for x in parse(o)]
        nfail = pa.count("EIO")
        c.check(len(pa) == 400 and pa == [x[2] for x in parse(b)],
                "replay: seed 42 twice gives the same 400 outcomes")
        c.check(pa != po, "another seed gives another sequence")
        c.check(80 <= nfail <= 160, f"p=0.3 over 400 calls failed {nfail} (expect ~120)")
        # no table left behind by any of the runs above
        after = {n for n in os.listdir("/dev/shm") if n.startswith("faultline-exec-")}
        # another faultline exec running meanwhile (not ours) may own a live table
        left = {n for n in after - before if not os.path.exists("/proc/" + n.split("-")[-1])}
        c.check(not left, f"faultline exec removed its tables (left: {left})")
    c.done()


main()
