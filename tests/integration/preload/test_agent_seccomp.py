"""Fault kind `syscall` in params.mode "seccomp": a statically linked program
(no libc to hook) launched by a real faultline-agent, which supervises its
SECCOMP_RET_USER_NOTIF calls in a thread: when= and p= (replayable) schedules
fail the chosen calls; revert disarms (every call runs: CONTINUE) and stops
it; lease expiry does the same; a program the agent did not launch is
untouched; agent SIGKILL takes the supervised command with it, and what it
forked, and reconcile finds nothing left. And the launch has no window without a journal record:
an agent stopped right after the fork (test-only hook) and SIGKILLed there
never lets the command run, shim or seccomp."""
import ctypes
import glob
import json
import os
import signal
import threading
import time

from fltest import (Agent, Checks, TempDir, alive, env, pid_of, reap_orphans, run, skip,
                    wait_for)
from fltest import launch as _launch

STATIC = env("FL_STATIC")
HT = env("FL_HOOKTEST")
AGENT = os.environ.get("FL_AGENT") or skip("faultline-agent is not built")


def opens(path):
    try:
        with open(path) as f:
            return [l.split()[2][6:] for l in f if l.startswith("open ")]
    except OSError:
        return []



def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def group(pgid):
    """Live processes of a process group (zombies count as gone)."""
    out = []
    for st in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(st) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[2]) == pgid and rest[0] != "Z":
            out.append(int(st.split("/")[2]))
    return out


def children(pid):
    """Children of every thread (the agent forks from a launcher thread)."""
    kids = []
    for t in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(t) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids






def launch(a, fid, cmd, rules, ttl_ms=60000, mode="seccomp", **kw):
    return _launch(a, fid, cmd, rules, ttl_ms, mode=mode, experiment="sc-it", **kw)


def main():
    c = Checks()
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # subreaper
    pids = []
    with TempDir() as d:
        f = d + "/file"
        open(f, "w").close()
        a = Agent(AGENT, d)
        try:
            a.start_or_fail(c)
            st, h = a.http("GET", "/v1/health")
            sc = ((h or {}).get("capabilities") or {}).get("seccomp") or {}
            print("seccomp capabilities:", sc)
            if not sc.get("errno"):
                skip(f"seccomp filters are not usable here: {sc}")
            if not sc.get("agent_supervisor"):
                skip(f"no user notification + CONTINUE + pidfd_getfd here: {sc}")

            # 1. when=2..3 through the agent's supervisor
            out = d + "/w.out"
            st, body = launch(a, "s1", [STATIC, f, "4"], ["openat:ENOENT:when=2..3"],
                              output=out)
            pids.append(pid_of(body))
            c.check(st == 201, f"POST seccomp command: {st} {json.dumps(body)[:300]}")
            c.check(wait_for(lambda: len(opens(out)) == 4), "the command ran to its end")
            c.check(opens(out) == ["0", "ENOENT", "ENOENT", "0"],
                    f"when=2..3: the 2nd and 3rd openat fail: {opens(out)}")
            st, _ = a.http("DELETE", "/v1/faults/s1")
            c.check(st == 200, f"DELETE after it ended: {st}")

            # 1b. an always-firing rule needs no supervisor: RET_ERRNO in the kernel
            out = d + "/a.out"
            st, body = launch(a, "s1b", [STATIC, f, "2"], ["openat:EACCES"], output=out)
            pids.append(pid_of(body))
            c.check(st == 201 and wait_for(lambda: len(opens(out)) == 2)
                    and opens(out) == ["EACCES", "EACCES"],
                    f"openat:EACCES (RET_ERRNO): {st} {opens(out)}")
            a.http("DELETE", "/v1/faults/s1b")

            # 2. p=0.5 with a seed: some fail, and the same seed replays
            runs = []
            for i in (1, 2):
                out = d + f"/p{i}.out"
                st, body = launch(a, f"s2{i}", [STATIC, f, "64"], ["openat:EIO:p=0.5"],
                                  seed=9, output=out)
                pids.append(pid_of(body))
                wait_for(lambda: len(opens(out)) == 64)
                runs.append(opens(out))
                a.http("DELETE", f"/v1/faults/s2{i}")
            n = runs[0].count("EIO")
            c.check(len(runs[0]) == 64 and runs[0] == runs[1] and 10 <= n <= 54
                    and set(runs[0]) == {"0", "EIO"},
                    f"p=0.5 seed 9: {n}/64 failed, replayed identically")

            # 3. live: faulted, a program not launched by the agent untouched,
            #    revert disarms (calls run) and stops it
            out = d + "/l.out"
            st, body = launch(a, "s3", [STATIC, f, "100000", "20", "ignore-term"],
                              ["openat:EACCES:when=1+"], output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: len(opens(out)) >= 5),
                    f"long-running command started: {st}")
            c.check(set(opens(out)) == {"EACCES"}, f"every openat fails: {opens(out)[:5]}")
            plain = run([STATIC, f, "3"])
            c.check(plain.stdout.count("errno=0") == 3,
                    f"a program the agent did not launch is untouched: {plain.stdout!r}")
            n0 = len(opens(out))
            t0 = time.monotonic()
            st, _ = a.http("DELETE", "/v1/faults/s3")
            took = time.monotonic() - t0
            after = opens(out)[n0:]
            c.check(st == 200 and not alive(pid), f"DELETE stopped it: {st} ({took:.1f} s)")
            # it ignores SIGTERM: during the 2 s grace it kept opening, disarmed
            clean = after[after.index("0"):] if "0" in after else []
            c.check(len(clean) >= 20 and set(clean) == {"0"},
                    f"after disarm every openat ran (CONTINUE), no ENOSYS: "
                    f"{len(after)} calls, tail {after[-5:]}")

            # 4. lease expiry: disarmed and stopped by the agent on its own
            out = d + "/e.out"
            st, body = launch(a, "s4", [STATIC, f, "100000", "20"], ["openat:EPERM:when=1+"],
                              ttl_ms=700, output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: "EPERM" in opens(out)),
                    "armed with a 700 ms lease")
            c.check(wait_for(lambda: not alive(pid), 6), "the lease expired: it is stopped")

            # 5. agent SIGKILL: the supervised command dies with its supervisor
            out = d + "/k.out"
            st, body = launch(a, "s5", [STATIC, f, "100000", "20"], ["openat:EIO:when=1+"],
                              ttl_ms=600000, output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: "EIO" in opens(out)), "armed, long lease")
            a.kill9()
            c.check(wait_for(lambda: (reap_orphans(), not alive(pid))[1], 3),
                    "agent SIGKILL: the command went with its supervisor (PDEATHSIG), "
                    "it does not run on with nobody answering")
            c.check("ENOSYS" not in opens(out), f"it never saw ENOSYS: {set(opens(out))}")
            c.check(a.start(), "agent restarted")
            st, body = a.http("GET", "/v1/faults")
            c.check(st == 200 and not (body or {}).get("faults"),
                    f"reconcile: nothing live: {body}")

            # 5b. ... and so does what the command forked (not bound by its
            #     PDEATHSIG): the keeper kills the command's process group
            #     before the listener closes, so nobody sees ENOSYS either
            out = d + "/f.out"
            st, body = launch(a, "s5b", [STATIC, f, "100000", "20", "fork"],
                              ["openat:EIO:when=1+"], ttl_ms=600000, output=out)
            pid = pid_of(body)
            pids.append(pid)
            c.check(st == 201 and wait_for(lambda: len(opens(out)) >= 6)
                    and len(group(pid)) == 2,
                    f"armed, the command and its child open: {group(pid)} {opens(out)[:6]}")
            pids += group(pid)
            a.kill9()
            c.check(wait_for(lambda: (reap_orphans(), not group(pid))[1], 3),
                    f"agent SIGKILL: the command's child went too: {group(pid)}")
            c.check(set(opens(out)) == {"EIO"}, f"neither saw ENOSYS: {set(opens(out))}")
            c.check(a.start(), "agent restarted again")
            st, body = a.http("GET", "/v1/faults")
            c.check(st == 200 and not (body or {}).get("faults"),
                    f"reconcile: nothing live: {body}")

            # 6. refused: no command, keep, a rule the filter cannot express
            st, body = a.http("POST", "/v1/faults", {
                "id": "r1", "kind": "syscall", "target": {"pid": os.getpid()},
                "params": {"rules": ["openat:EIO"], "mode": "seccomp"}, "ttl_ms": 1000})
            c.check(st == 400 and body["error"]["path"] == "$.params.mode",
                    f"seccomp on a running pid is refused: {st} {body}")
            st, body = launch(a, "r2", [STATIC, f], ["openat:EIO"], on_revert="keep")
            c.check(st == 400 and body["error"]["path"] == "$.target.on_revert",
                    f"keep is refused in the seccomp mode: {st} {body}")
            st, body = launch(a, "r3", [STATIC, f], ["openat:delay=1s"])
            c.check(st == 400 and body["error"]["path"].startswith("$.params.rules"),
                    f"delay= is refused on the seccomp path: {st} {body}")
            st, body = launch(a, "r4", [STATIC, f], ["openat:EIO"], mode="bpf")
            c.check(st == 400 and body["error"]["path"] == "$.params.mode",
                    f"an unknown mode is refused: {st}")
        finally:
            a.stop()

        # 7. no window between fork and journal: the agent stops itself right
        #    after the fork (test-only hook), we SIGKILL it there
        for mode, cmd, rules in (("shim", [HT, "repeat", "50", "10", "write", d + "/x.dat"],
                                  ["write:EIO"]),
                                 ("seccomp", [STATIC, f, "50", "10"], ["openat:EIO:when=1+"])):
            out = d + f"/win-{mode}.out"
            b = Agent(AGENT, d, state="state-" + mode)
            os.environ["FAULTLINE_TEST_STOP_AFTER_SPAWN"] = "1"
            try:
                started = b.start()
            finally:
                del os.environ["FAULTLINE_TEST_STOP_AFTER_SPAWN"]
            c.check(started, f"{mode}: agent with the stop hook started")
            body = {"id": "w1", "kind": "syscall", "ttl_ms": 60000,
                    "target": {"command": cmd, "output": out},
                    "params": {"rules": rules, "mode": mode}}

            def post(b=b, body=body):
                try:
                    b.http("POST", "/v1/faults", body)
                except Exception:
                    pass  # the agent dies under it

            req = threading.Thread(target=post)
            req.start()
            stopped = wait_for(lambda: state(b.proc.pid) == "T", 10)
            kids = children(b.proc.pid)
            c.check(stopped and len(kids) == 1,
                    f"{mode}: agent stopped right after the fork, child {kids}")
            b.kill9()
            req.join(timeout=30)
            c.check(wait_for(lambda: (reap_orphans(), not any(map(alive, kids)))[1], 5),
                    f"{mode}: the child saw the agent die before go and exited")
            time.sleep(0.3)
            c.check(not os.path.exists(out) or os.path.getsize(out) == 0,
                    f"{mode}: the command never ran (no output)")
            b2 = Agent(AGENT, d, state="state-" + mode)
            try:
                c.check(b2.start(), f"{mode}: agent restarted on the same state dir")
                st, body = b2.http("GET", "/v1/faults")
                c.check(st == 200 and not (body or {}).get("faults"),
                        f"{mode}: reconcile left nothing live: {body}")
            finally:
                b2.stop()
        for p in pids:
            if p and alive(p):
                os.kill(p, signal.SIGKILL)
        reap_orphans()
        left = [t for t in glob.glob("/dev/shm/faultline-cmd-*")
                if os.stat(t).st_mtime > time.time() - 120]
        print("recent cmd tables left (other tests may own some):", left)
    c.done()


main()
