"""Fault kind `syscall` with a command the real faultline-agent launches under
the shim: the command gets the errno from its first call; DELETE and lease
expiry disarm and stop it; a command that ends while armed leaves no table;
"on_revert": "keep" leaves it running, disarmed; agent SIGKILL -> restart ->
reconcile stops it and removes its table; the agent's allow-list applies; and
GET /v1/health reports what seccomp offers."""
import ctypes
import glob
import json
import os
import time

from fltest import LINE, Agent, Checks, TempDir, alive, env, launch, pid_of, reap_orphans, run, skip, wait_for

HT = env("FL_HOOKTEST")
env("FL_SHIM")
AGENT = os.environ.get("FL_AGENT") or skip("faultline-agent is not built")


def tables():
    return set(glob.glob("/dev/shm/faultline-cmd-*"))


def private_shm():
    """A /dev/shm of this test's own: a new mount namespace with a fresh tmpfs
    there, which the agent and its commands inherit. Other test runs on the
    machine (other checkouts, CTest -j) create and remove faultline-cmd-*
    tables too; counted in the shared /dev/shm, theirs would pass for ours."""
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 0x4000, 1 << 18
    if libc.unshare(CLONE_NEWNS) != 0:
        return "unshare(CLONE_NEWNS): " + os.strerror(ctypes.get_errno())
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return "mount --make-rprivate /: " + os.strerror(ctypes.get_errno())
    if libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", 0, b"mode=1777,size=64m") != 0:
        return "mount tmpfs /dev/shm: " + os.strerror(ctypes.get_errno())
    return None





def errnos(path):
    try:
        with open(path) as f:
            return [m[3] for m in map(LINE.match, f.read().splitlines()) if m]
    except OSError:
        return []




def main():
    c = Checks()
    # PR_SET_CHILD_SUBREAPER: orphans of the killed agent come to us, not to init.
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    why = private_shm()
    if why:
        print(f"note: the shared /dev/shm is counted ({why}); other runs' tables may count as ours")
    before = tables()
    pids = []
    with TempDir() as d:
        a = Agent(AGENT, d)
        try:
            a.start_or_fail(c)
            st, h = a.http("GET", "/v1/health")
            sc = ((h or {}).get("capabilities") or {}).get("seccomp") or {}
            c.check(st == 200 and set(sc) >= {"filter", "errno", "user_notif",
                                               "notif_continue"}
                    and all(isinstance(sc[k], bool) for k in ("filter", "errno", "user_notif")),
                    f"health reports seccomp capabilities: {sc}")
            # The same probe as faultline exec -v prints: "seccomp: filter=yes errno=yes ..."
            probe = run([env("FL_EXEC"), "-v", "--seccomp", "--fault", "getppid:EPERM", "--",
                         "true"]).stderr
            line = next((l for l in probe.splitlines() if "seccomp: filter=" in l), "")
            want = {k: f"{name}=yes" in line for k, name in
                    (("filter", "filter"), ("errno", "errno"), ("user_notif", "user-notif"),
                     ("notif_continue", "continue"))}
            c.check(line and all(sc.get(k) == v for k, v in want.items()),
                    f"health agrees with faultline exec's probe: {line!r}")

            # 1. launched under the shim, armed from its first call; DELETE stops it
            out = d + "/w.out"
            st, body = launch(a, "c1", [HT, "repeat", "3000", "10", "write", d + "/w.dat"],
                              ["write:EIO"], output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and pid, f"POST command: {st} {json.dumps(body)[:300]}")
            c.check(wait_for(lambda: len(errnos(out)) >= 5), "the command reports its calls")
            got = errnos(out)
            c.check(got[:5] == ["EIO"] * 5, f"every write fails with EIO from the start: {got[:5]}")
            new = tables() - before
            c.check(len(new) == 1, f"one table of its own while live: {new}")
            st, _ = a.http("DELETE", "/v1/faults/c1")
            c.check(st == 200, f"DELETE: {st}")
            c.check(wait_for(lambda: not alive(pid)), "revert stopped the command")
            c.check(wait_for(lambda: not os.path.exists(f"/proc/{pid}")),
                    "and the agent reaped it (no zombie)")
            c.check(tables() - before == set(), "its table is removed")

            # 2. lease expiry stops it too
            out = d + "/l.out"
            st, body = launch(a, "c2", [HT, "repeat", "3000", "10", "write", d + "/l.dat"],
                              ["write:ENOSPC"], ttl_ms=600, output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: "ENOSPC" in errnos(out)),
                    "armed with a 600 ms lease")
            c.check(wait_for(lambda: not alive(pid), 6), "the lease expired: command stopped")
            c.check(wait_for(lambda: tables() - before == set()), "and its table removed")

            # 3. a command that ends while armed leaves nothing behind
            out = d + "/e.out"
            st, body = launch(a, "c3", [HT, "write", d + "/e.dat", "3"], ["write:EIO"],
                              output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: errnos(out) == ["EIO"] * 3),
                    f"a short command got its faults: {errnos(out)}")
            c.check(wait_for(lambda: not os.path.exists(f"/proc/{pid}")),
                    "it ended and was reaped while the fault is live")
            c.check(wait_for(lambda: tables() - before == set()),
                    "its table went with it, before the lease ended")
            st, _ = a.http("DELETE", "/v1/faults/c3")
            c.check(st == 200, f"DELETE after the command ended: {st}")

            # 4. on_revert keep: disarmed, still running
            out = d + "/k.out"
            st, body = launch(a, "c4", [HT, "repeat", "3000", "10", "write", d + "/k.dat"],
                              ["write:EIO"], output=out, on_revert="keep",
                              env={"FL_TEST_VAR": "1"}, cwd=d)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: "EIO" in errnos(out)), "armed (keep)")
            st, _ = a.http("DELETE", "/v1/faults/c4")
            n = len(errnos(out))
            c.check(st == 200 and wait_for(lambda: errnos(out)[n:].count("0") >= 3),
                    "DELETE disarmed it: writes succeed again")
            c.check(alive(pid), "and it keeps running (on_revert keep)")
            with open(f"/proc/{pid}/environ", "rb") as f:
                envs = f.read().split(b"\0")
            c.check(b"FL_TEST_VAR=1" in envs and os.readlink(f"/proc/{pid}/cwd") == d,
                    "env and cwd reached the command")
            os.kill(pid, 9)

            # 5. agent SIGKILL -> restart -> reconcile stops it, removes the table
            out = d + "/r.out"
            st, body = launch(a, "c5", [HT, "repeat", "3000", "10", "write", d + "/r.dat"],
                              ["write:EIO"], ttl_ms=600000, output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: "EIO" in errnos(out)), "armed, long lease")
            with open(d + "/state/faults/c5.json") as f:
                rec = json.load(f)
            proc = (rec.get("undo", {}).get("processes") or [{}])[0]
            c.check(proc.get("pid") == pid and proc.get("start"),
                    f"the journal holds pid and start time: {proc}")
            a.kill9()
            time.sleep(0.2)
            c.check(alive(pid) and errnos(out)[-1] == "EIO",
                    "the command outlives the agent's SIGKILL, still faulted")
            c.check(a.start(), "agent restarted on the same state dir")
            c.check(wait_for(lambda: (reap_orphans(), not alive(pid))[1]),
                    "reconcile stopped the command")
            c.check(tables() - before == set(), "and removed its table")
            st, body = a.http("GET", "/v1/faults")
            c.check(st == 200 and not (body or {}).get("faults"), f"no live faults: {body}")

            # 6. bad input and policy: refused with a JSON path, nothing started
            st, body = launch(a, "c6", ["./relative"], ["write:EIO"])
            c.check(st == 400 and body["error"]["path"] == "$.target.command[0]",
                    f"a relative path is refused: {st} {body}")
            st, body = launch(a, "c7", ["no-such-program-xyz"], ["write:EIO"])
            c.check(st == 404 and body["error"]["path"] == "$.target.command[0]",
                    f"a program not in PATH is refused: {st} {body}")
            st, body = launch(a, "c9", ["true"], ["write:EIO"], output="/nonexistent-fl/out")
            c.check(st == 404 and body["error"]["path"] == "$.target.output",
                    f"output in a missing directory is refused: {st} {body}")
            st, body = launch(a, "c8", ["true"], ["write:EIO"], pid=1)
            c.check(st == 400, f"command and pid together are refused: {st}")
            c.check(tables() - before == set(), "nothing left by refused requests")
        finally:
            a.stop()

        cfg = d + "/agent.json"
        with open(cfg, "w") as f:
            json.dump({"allow": {"names": ["sleep"]}}, f)
        b = Agent(AGENT, d, config=cfg, state="state2")
        try:
            c.check(b.start(), "agent with an allow-list started")
            st, body = launch(b, "p1", [HT, "write", d + "/p.dat", "1"], ["write:EIO"])
            c.check(st == 403 and body["error"]["path"] == "$.target.command",
                    f"a command outside the allow-list is refused: {st} {body}")
            st, body = launch(b, "p2", ["sleep", "30"], ["nanosleep:EIO"])
            c.check(st == 400, f"an unknown hooked function is refused: {st}")
            st, body = launch(b, "p3", ["sleep", "30"], ["write:EIO"])
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201, f"an allowed command (sleep, by PATH) is launched: {st} {body}")
        finally:
            b.stop()
        c.check(pid is None or wait_for(lambda: not alive(pid)),
                "agent shutdown stopped the launched command")
        for p in pids:
            if p and alive(p):
                os.kill(p, 9)
        reap_orphans()
        c.check(tables() - before == set(), "no table left at the end")
    c.done()


main()
