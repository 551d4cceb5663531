#!/usr/bin/env python3
"""The journal comes before the system, as the agent's system calls show.

faultline-agent runs under strace while it applies and reverts a real pause.
The trace must show, in this order, for the apply: the temporary record
created and written, fsync of it, rename into ID.json, fsync of the
directory -- and only then the SIGSTOP (pidfd_send_signal); for the revert:
the SIGCONT first, then ID.json unlinked and the directory fsynced.

    journal_order.py FAULTLINE_AGENT
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from agentlib import call, start_agent, write_token


def fail(msg, trace=None):
    print("FAIL:", msg)
    if trace:
        print("--- trace ---")
        print("\n".join(trace))
    sys.exit(1)


def first(trace, pattern, after=-1):
    rx = re.compile(pattern)
    for i, line in enumerate(trace):
        if i > after and rx.search(line):
            return i
    return -1


def main():
    agent = os.path.abspath(sys.argv[1])
    strace = shutil.which("strace")
    if not strace:
        print("SKIPPED: strace is not installed")
        return 77
    d = tempfile.mkdtemp(prefix="fl-jorder-")
    agent_p = victim = None
    try:
        token = write_token(d)
        try:
            agent_p, sock = start_agent(
                agent, d, tries=1000,
                wrapper=[strace, "-f", "-qq", "-s", "256", "-o", f"{d}/trace", "-e",
                         "trace=openat,fsync,rename,renameat,renameat2,unlinkat,"
                         "pidfd_send_signal"],
                extra=["--keep-caps"])
        except RuntimeError as e:
            fail(f"the agent did not start under strace: {e}")
        victim = subprocess.Popen(["sleep", "300"])
        time.sleep(0.05)
        body = json.dumps({"id": "jo1", "kind": "pause", "target": {"pid": victim.pid},
                           "ttl_ms": 60000})
        st, data = call(sock, "POST", "/v1/faults", token, body)
        if st != 201:
            fail(f"apply: {st} {data!r}")
        st, data = call(sock, "DELETE", "/v1/faults/jo1", token)
        if st != 200:
            fail(f"revert: {st} {data!r}")
        # SIGTERM to the agent itself (strace's child), not to strace.
        with open(f"/proc/{agent_p.pid}/task/{agent_p.pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
        if len(kids) != 1:
            fail(f"strace has children {kids}, expected the agent alone")
        os.kill(kids[0], signal.SIGTERM)
        agent_p.wait(timeout=30)
        agent_p = None
        trace = [l.rstrip("\n") for l in open(f"{d}/trace")]
        v = victim.pid
        # Apply: tmp record created, fsynced, renamed, directory fsynced, then SIGSTOP.
        i_open = first(trace, r'openat\(\d+, "\.jo1\.tmp", O_WRONLY\|O_CREAT.* = (\d+)$')
        if i_open < 0:
            fail("no temporary journal record opened", trace)
        tmp_fd = re.search(r"= (\d+)$", trace[i_open]).group(1)
        i_fsync_tmp = first(trace, rf"fsync\({tmp_fd}\) += 0", i_open)
        i_rename = first(trace, r'renameat2?\(\d+, "\.jo1\.tmp", \d+, "jo1\.json"(, 0)?\) += 0',
                         i_open)
        dir_fd = re.search(r"renameat2?\((\d+),", trace[i_rename]).group(1) if i_rename >= 0 else "x"
        i_fsync_dir = first(trace, rf"fsync\({dir_fd}\) += 0", i_rename)
        i_stop = first(trace, r"pidfd_send_signal\(\d+, SIGSTOP, NULL, 0\) += 0")
        order = [("open .jo1.tmp", i_open), ("fsync it", i_fsync_tmp), ("rename to jo1.json", i_rename),
                 ("fsync the directory", i_fsync_dir), ("SIGSTOP", i_stop)]
        for (a, ia), (b, ib) in zip(order, order[1:]):
            if ia < 0 or ib < 0 or ia >= ib:
                fail(f"apply: '{a}' (line {ia}) must come before '{b}' (line {ib})", trace)
        # Revert: SIGCONT, then the record goes, then the directory is fsynced.
        i_cont = first(trace, r"pidfd_send_signal\(\d+, SIGCONT, NULL, 0\) += 0", i_stop)
        i_unlink = first(trace, r'unlinkat\(\d+, "jo1\.json", 0\) += 0', i_stop)
        i_fsync_dir2 = first(trace, rf"fsync\({dir_fd}\) += 0", i_unlink)
        order = [("SIGCONT", i_cont), ("unlink jo1.json", i_unlink), ("fsync the directory", i_fsync_dir2)]
        for (a, ia), (b, ib) in zip(order, order[1:]):
            if ia < 0 or ib < 0 or ia >= ib:
                fail(f"revert: '{a}' (line {ia}) must come before '{b}' (line {ib})", trace)
        print(f"apply: record at trace lines {i_open}..{i_fsync_dir}, SIGSTOP at {i_stop}; "
              f"revert: SIGCONT at {i_cont}, record removed at {i_unlink}")
    finally:
        if agent_p and agent_p.poll() is None:
            try:  # the agent first (strace's child), then strace
                with open(f"/proc/{agent_p.pid}/task/{agent_p.pid}/children") as f:
                    for k in f.read().split():
                        os.kill(int(k), signal.SIGKILL)
            except OSError:
                pass
            agent_p.kill()
            agent_p.wait()
        if victim:
            victim.kill()
            victim.wait()
        shutil.rmtree(d, ignore_errors=True)
    print("PASS journal_order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
