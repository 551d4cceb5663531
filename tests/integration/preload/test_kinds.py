"""Fault kinds `time`, `dns` and `stream` (Chaos Mesh's TimeChaos and
DNSChaos, Toxiproxy's toxics) through a real faultline-agent, on real
programs under the shim:

- time: `date +%s` in a command the agent launches reads the set offset
  (within 2 s), negative and positive; a shimmed python process named by pid
  reads it too, and after an agent SIGKILL and restart reads the real time
  again (reconcile disarmed its table);
- dns: `getent hosts NAME` fails (exit 2) for a name the patterns match,
  while localhost still resolves; an "answer" makes a name that does not
  exist resolve to the given address; agent SIGKILL -> restart -> the
  command and its table are gone;
- stream: reset_peer makes curl against a local python http.server fail
  with "Connection reset by peer" (exit 56) while the same server on
  another port still answers; bandwidth at 100 KB/s makes curl move
  150 000 bytes in about 1.5 s; agent SIGKILL while a shimmed process
  named by pid is under reset_peer and a launched curl loop under
  limit_data -> restart -> the process's connections are whole again, the
  command is stopped, its table removed and the journal empty;
- bad params are refused with 400 naming the field, and a dry run speaks
  the peers' vocabulary."""
import ctypes
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from fltest import Agent, Checks, TempDir, alive, env, free_port, pid_of, reap_orphans, skip, wait_for

SHIM = env("FL_SHIM")
AGENT = os.environ.get("FL_AGENT") or skip("faultline-agent is not built")
SH = shutil.which("sh")
DATE = shutil.which("date") or skip("date is missing (coreutils)")
GETENT = shutil.which("getent") or skip("getent is missing (libc-bin)")
CURL = shutil.which("curl") or skip("curl is missing")


def post(a, fid, kind, target, params, ttl_ms=60000, dry=False):
    return a.http("POST", "/v1/faults" + ("?dry_run=1" if dry else ""),
                  {"id": fid, "experiment": "kinds-it", "kind": kind, "target": target,
                   "params": params, "ttl_ms": ttl_ms})


def lines(path, prefix):
    try:
        with open(path) as f:
            return [l.split()[1:] for l in f.read().splitlines() if l.startswith(prefix + " ")]
    except OSError:
        return []


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def fresh(path, prefix, n=3, secs=10.0):
    """The next n lines with prefix written after now, after one more: a
    line begun before the change (a `date` that read the clock just before
    the table was armed) is not counted."""
    start = size(path)
    got = []

    def more():
        with open(path) as f:
            f.seek(start)
            got[:] = [l.split()[1:] for l in f.read().splitlines() if l.startswith(prefix + " ")]
        return len(got) >= n + 1
    wait_for(more, secs)
    return got[1:n + 1]


def table_of(pid):
    return f"/dev/shm/faultline-{pid}"


def check_time(c, a, d):
    out = d + "/date.out"
    loop = f'while :; do echo "t $({DATE} +%s)"; sleep 0.2; done'
    for fid, offset, want in (("t-neg", "-2h", -7200), ("t-pos", "+1h30m", 5400)):
        st, body = post(a, fid, "time", {"command": [SH, "-c", loop], "output": out,
                                          "on_revert": "keep"},
                        {"offset": offset, "clock_ids": ["CLOCK_REALTIME"]})
        c.check(st == 201, f"time {offset}: POST with a launched shell loop: {st} {body}")
        pid = pid_of(body)
        got = fresh(out, "t", 3)
        now = time.time()
        skew = [int(v[0]) - now for v in got[-3:]] if got else []
        c.check(len(skew) == 3 and all(abs(s - want) <= 2 for s in skew),
                f"time {offset}: `date +%s` in the target is off by {want} s (+-2): "
                f"{[round(s, 1) for s in skew]}")
        st, _ = a.http("DELETE", f"/v1/faults/{fid}")
        got = fresh(out, "t", 3)
        now = time.time()
        skew = [int(v[0]) - now for v in got[-3:]] if got else []
        c.check(st in (200, 204) and len(skew) == 3 and all(abs(s) <= 2 for s in skew),
                f"time {offset}: DELETE -> `date` is right again (kept running): {skew}")
        if pid:
            os.kill(pid, 9)
            wait_for(lambda: not alive(pid) and (reap_orphans() or True))

    # A shimmed process named by pid: python's time.time() (clock_gettime).
    pyout = open(d + "/py.out", "w")
    e = dict(os.environ, LD_PRELOAD=SHIM)
    e.pop("FAULTLINE_SHM", None)
    p = subprocess.Popen([sys.executable, "-u", "-c",
                          "import time\nwhile True:\n print('p', int(time.time()))\n"
                          " time.sleep(0.1)\n"], stdout=pyout, env=e)
    try:
        c.check(wait_for(lambda: os.path.exists(table_of(p.pid))),
                "the shimmed python registered its table")
        st, body = post(a, "t-pid", "time", {"pid": p.pid}, {"offset": "-90s"}, ttl_ms=600000)
        c.check(st == 201, f"time -90s on pid {p.pid}: {st} {body}")
        got = fresh(d + "/py.out", "p", 5)
        skew = [int(v[0]) - time.time() for v in got[-3:]]
        c.check(len(skew) == 3 and all(abs(s + 90) <= 2 for s in skew),
                f"the process reads the clock 90 s behind: {skew}")
        st, body = post(a, "t-pid2", "dns", {"pid": p.pid},
                        {"action": "nxdomain", "patterns": ["x"]})
        c.check(st == 409 or (st >= 400 and "already has shim faults" in str(body)),
                f"a second shim fault on the same process is refused: {st} {body}")
        a.kill9()
        got = fresh(d + "/py.out", "p", 3)
        skew = [int(v[0]) - time.time() for v in got[-3:]]
        c.check(len(skew) == 3 and all(abs(s + 90) <= 2 for s in skew),
                f"agent SIGKILLed: the skew outlives it: {skew}")
        c.check(a.start(), "agent restarted on the same state dir")
        got = fresh(d + "/py.out", "p", 5)
        skew = [int(v[0]) - time.time() for v in got[-3:]]
        c.check(len(skew) == 3 and all(abs(s) <= 2 for s in skew),
                f"reconcile on start removed the rules: the clock is right: {skew}")
        st, body = a.http("GET", "/v1/faults")
        c.check(st == 200 and not (body or {}).get("faults"), f"no live faults: {body}")
    finally:
        p.kill()
        p.wait()
        pyout.close()


def check_dns(c, a, d):
    # A name that resolves here without the fault, other than localhost.
    name = socket.gethostname()
    plain = subprocess.run([GETENT, "hosts", name], capture_output=True)
    faulted, other = (name, "localhost") if plain.returncode == 0 and name != "localhost" \
        else ("localhost", "127.0.0.1")
    out = d + "/dns.out"
    loop = (f"while :; do {GETENT} hosts {faulted} >/dev/null; echo \"n $?\"; "
            f"{GETENT} hosts {other}; echo \"o $?\"; sleep 0.2; done")
    st, body = post(a, "d-nx", "dns", {"command": [SH, "-c", loop], "output": out},
                    {"action": "nxdomain", "patterns": ["nothing.example", faulted.upper()]},
                    ttl_ms=600000)
    c.check(st == 201, f"dns nxdomain: POST: {st} {body}")
    pid = pid_of(body)
    n, o = fresh(out, "n", 3), fresh(out, "o", 3)
    c.check(len(n) == 3 and all(v == ["2"] for v in n),
            f"getent hosts {faulted} fails (exit 2) under NXDOMAIN: {n}")
    c.check(len(o) == 3 and all(v == ["0"] for v in o),
            f"getent hosts {other} (not matched) still resolves: {o}")
    c.check("127.0.0.1" in open(out).read(), "and prints its address")
    table = "/dev/shm" + (((body or {}).get("details") or {}).get("tables") or [{}])[0].get(
        "table", "/?")
    c.check(os.path.exists(table), f"the command's table exists: {table}")
    # agent SIGKILL -> restart: the command is stopped, its table removed
    a.kill9()
    c.check(alive(pid), "agent SIGKILLed: the launched command runs on")
    c.check(a.start(), "agent restarted")
    c.check(wait_for(lambda: not alive(pid) and (reap_orphans() or True), 10),
            "reconcile stopped the launched command")
    body = a.http("GET", "/v1/faults")[1]
    c.check(not (body or {}).get("faults"), f"no live faults after reconcile: {body}")
    st, plan = post(a, "d-dry", "dns", {"command": [SH, "-c", "true"]},
                    {"action": "nxdomain", "patterns": ["x"]}, dry=True)
    c.check(st == 200 and "DNSChaos" in (plan or {}).get("description", ""),
            f"dry run speaks DNSChaos: {plan}")
    c.check(not os.path.exists(table), f"reconcile removed the command's table {table}")

    # answer: a name that does not exist resolves to the given address
    ghost = f"fl-{os.getpid()}-{int(time.time())}.invalid"
    out2 = d + "/dns2.out"
    loop = f"while :; do {GETENT} hosts {ghost}; echo \"r $?\"; sleep 0.2; done"
    st, body = post(a, "d-ans", "dns", {"command": [SH, "-c", loop], "output": out2},
                    {"action": "answer", "address": "10.9.9.9", "patterns": ["*.invalid"]})
    c.check(st == 201, f"dns answer: POST: {st} {body}")
    r = fresh(out2, "r", 2)
    text = open(out2).read() if os.path.exists(out2) else ""
    c.check(len(r) == 2 and all(v == ["0"] for v in r) and f"10.9.9.9        {ghost}" in text,
            f"getent hosts {ghost} answers 10.9.9.9: {r} {text[-200:]!r}")
    st, _ = a.http("DELETE", "/v1/faults/d-ans")
    c.check(st in (200, 204), f"DELETE: {st}")


def check_stream(c, a, d):
    servers, ports = [], []
    for _ in range(2):
        port = free_port()
        ports.append(port)
        servers.append(subprocess.Popen([sys.executable, "-m", "http.server", "--bind",
                                         "127.0.0.1", str(port)], cwd=d,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        def up(port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        c.check(all(wait_for(lambda p=p: up(p), 10) for p in ports), "two http.servers are up")
        out = d + "/curl.out"
        loop = (f"while :; do {CURL} -sS -o /dev/null --max-time 5 http://127.0.0.1:{ports[0]}/;"
                f" echo \"a $?\"; {CURL} -sS -o /dev/null --max-time 5 "
                f"http://127.0.0.1:{ports[1]}/; echo \"b $?\"; sleep 0.2; done")
        st, body = post(a, "s-reset", "stream", {"command": [SH, "-c", loop], "output": out},
                        {"type": "reset_peer", "peer": {"address": "127.0.0.1",
                                                        "port": ports[0]}})
        c.check(st == 201, f"stream reset_peer: POST: {st} {body}")
        ra, rb = fresh(out, "a", 3), fresh(out, "b", 3)
        text = open(out).read() if os.path.exists(out) else ""
        c.check(len(ra) == 3 and all(v == ["56"] for v in ra)
                and "Recv failure: Connection reset by peer" in text,
                f"curl to port {ports[0]} fails: Connection reset by peer (56): {ra} "
                f"{text[-300:]!r}")
        c.check(len(rb) == 3 and all(v == ["0"] for v in rb),
                f"curl to port {ports[1]} (not matched) succeeds: {rb}")
        st, _ = a.http("DELETE", "/v1/faults/s-reset")
        c.check(st in (200, 204), f"DELETE stops the command: {st}")
        # bandwidth: Toxiproxy's rate is KB/s; 150 000 bytes at 100 KB/s take 1.5 s.
        with open(d + "/big", "wb") as f:
            f.write(os.urandom(150000))
        out = d + "/bw.out"
        cmd = (f"{CURL} -sS -o /dev/null -w 'bw %{{time_total}} %{{size_download}}\\n' "
               f"http://127.0.0.1:{ports[1]}/big")
        st, body = post(a, "s-bw", "stream", {"command": [SH, "-c", cmd + "; " + cmd],
                                               "output": out},
                        {"type": "bandwidth", "attributes": {"rate": 100},
                         "peer": {"port": ports[1]}})
        c.check(st == 201, f"stream bandwidth 100 KB/s: POST: {st} {body}")
        wait_for(lambda: len(lines(out, "bw")) >= 2, 15)
        bw = [(float(t), int(n)) for t, n in lines(out, "bw")]
        c.check(len(bw) == 2 and all(n == 150000 and 1.2 <= t <= 4 for t, n in bw),
                f"curl moves 150 000 bytes in about 1.5 s (1.2 to 4): {bw}")
        a.http("DELETE", "/v1/faults/s-bw")
        r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30)
        t = float(r.stdout.split()[1]) if r.stdout.startswith("bw ") else -1
        c.check(0 <= t < 1, f"without the fault, the same transfer is fast: {t} s")
        st, plan = post(a, "s-dry", "stream", {"command": [SH, "-c", "true"]},
                        {"type": "bandwidth", "attributes": {"rate": 100},
                         "peer": {"port": ports[0]}}, dry=True)
        desc = (plan or {}).get("description", "")
        c.check(st == 200 and "Toxiproxy" in desc and "rate 100 KB/s" in desc and f"connections to port {ports[0]}" in desc
                and "bandwidth:rate=100kbps" in desc, f"dry run speaks Toxiproxy: {desc}")
    finally:
        for s in servers:
            s.kill()
            s.wait()


CLIENT = r"""
import socket, sys, time
port = int(sys.argv[1])
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /big HTTP/1.0\r\n\r\n")
        n = 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            n += len(b)
        s.close()
        print("c", "ok" if n > 150000 else "short", n)
    except OSError as e:
        print("c", type(e).__name__, 0)
    time.sleep(0.1)
"""


def check_stream_crash(c, a, d):
    """Agent SIGKILL while stream faults are live -> restart -> reconcile:
    a shimmed process named by pid (reset_peer) talks to the server
    unfaulted again, a launched command (limit_data) is stopped and its
    table removed, and the journal is empty."""
    with open(d + "/big", "wb") as f:
        f.write(os.urandom(150000))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                               str(port)], cwd=d, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    out = open(d + "/client.out", "w")
    e = dict(os.environ, LD_PRELOAD=SHIM)
    e.pop("FAULTLINE_SHM", None)
    p = lpid = ltable = None
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        c.check(wait_for(up, 10), "stream crash: the http.server is up")
        p = subprocess.Popen([sys.executable, "-u", "-c", CLIENT, str(port)], stdout=out, env=e)
        c.check(wait_for(lambda: os.path.exists(table_of(p.pid))),
                "stream crash: the shimmed client registered its table")
        got = fresh(d + "/client.out", "c", 3)
        c.check(len(got) == 3 and all(v[0] == "ok" for v in got),
                f"stream crash: before the fault the client gets the whole file: {got}")
        st, body = post(a, "s-crash", "stream", {"pid": p.pid},
                        {"type": "reset_peer", "peer": {"address": "127.0.0.1", "port": port}},
                        ttl_ms=600000)
        c.check(st == 201, f"stream reset_peer on pid {p.pid}: {st} {body}")
        got = fresh(d + "/client.out", "c", 3)
        c.check(len(got) == 3 and all(v[0] == "ConnectionResetError" for v in got),
                f"the client's connections are reset: {got}")
        lout = d + "/limit.out"
        loop = (f"while :; do {CURL} -sS -o /dev/null -w 'l %{{size_download}}\\n' "
                f"http://127.0.0.1:{port}/big; sleep 0.2; done")
        st, body = post(a, "s-limit", "stream", {"command": [SH, "-c", loop], "output": lout},
                        {"type": "limit_data", "attributes": {"bytes": 1000},
                         "peer": {"port": port}}, ttl_ms=600000)
        c.check(st == 201, f"stream limit_data on a launched curl loop: {st} {body}")
        lpid = pid_of(body)
        ltable = "/dev/shm" + (((body or {}).get("details") or {}).get("tables") or [{}])[0].get(
            "table", "/?")
        got = fresh(lout, "l", 2)
        c.check(len(got) == 2 and all(int(v[0]) < 150000 for v in got),
                f"curl gets less than the file under limit_data: {got}")
        c.check(os.path.exists(ltable), f"the command's table exists: {ltable}")
        a.kill9()
        got = fresh(d + "/client.out", "c", 3)
        c.check(len(got) == 3 and all(v[0] == "ConnectionResetError" for v in got),
                f"agent SIGKILLed: the resets outlive it: {got}")
        c.check(alive(lpid), "agent SIGKILLed: the launched curl loop runs on")
        journal = d + "/state/faults"
        c.check(len([f for f in os.listdir(journal) if f.endswith(".json")]) == 2,
                f"both records are in the journal: {os.listdir(journal)}")
        c.check(a.start(), "agent restarted on the same state dir")
        got = fresh(d + "/client.out", "c", 3)
        c.check(len(got) == 3 and all(v[0] == "ok" for v in got),
                f"reconcile on start disarmed the client's table: whole files again: {got}")
        c.check(wait_for(lambda: not alive(lpid) and (reap_orphans() or True), 10),
                "reconcile stopped the launched command")
        c.check(not os.path.exists(ltable), f"reconcile removed the command's table {ltable}")
        st, body = a.http("GET", "/v1/faults")
        c.check(st == 200 and not (body or {}).get("faults"), f"no live faults: {body}")
        c.check(not [f for f in os.listdir(journal) if not f.startswith(".")],
                f"the journal is empty: {os.listdir(journal)}")
    finally:
        if p:
            p.kill()
            p.wait()
        if lpid and alive(lpid):  # reconcile failed: the curl loop is ours to end
            os.kill(lpid, 9)
            wait_for(lambda: not alive(lpid) and (reap_orphans() or True))
        if ltable and os.path.exists(ltable):
            os.unlink(ltable)
        out.close()
        server.kill()
        server.wait()


def check_refused(c, a):
    cmd = {"command": [SH, "-c", "sleep 30"]}
    for kind, params, path in (
            ("time", {"offset": "soon"}, "$.params.offset"),
            ("time", {"offset": "1s", "clock_ids": ["CLOCK_THREAD_CPUTIME_ID"]},
             "$.params.clock_ids[0]"),
            ("dns", {"action": "nxdomain"}, "$.params.patterns"),
            ("dns", {"action": "answer", "patterns": ["a"]}, "$.params.address"),
            ("dns", {"action": "nxdomain", "patterns": ["a"], "ttl": 5}, "$.params.ttl"),
            ("stream", {"type": "latency"}, "$.params.type"),
            ("stream", {"type": "limit_data"}, "$.params.attributes.bytes"),
            ("stream", {"type": "reset_peer", "peer": {"port": 0}}, "$.params.peer.port")):
        st, body = post(a, "bad", kind, cmd, params)
        got = ((body or {}).get("error") or {}).get("path")
        c.check(st == 400 and got == path, f"{kind} {params}: 400 at {path}: {st} {body}")
    st, body = a.http("GET", "/v1/faults")
    c.check(st == 200 and not (body or {}).get("faults"), f"nothing applied: {body}")
    st, plan = post(a, "t-dry", "time", cmd, {"offset": "-5m"}, dry=True)
    c.check(st == 200 and "TimeChaos" in (plan or {}).get("description", "")
            and "timeOffset -5m" in plan["description"], f"dry run speaks TimeChaos: {plan}")


def main():
    c = Checks()
    # PR_SET_CHILD_SUBREAPER: commands orphaned by the agent's SIGKILL come to us.
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    with TempDir() as d:
        a = Agent(AGENT, d)
        try:
            a.start_or_fail(c)
            st, h = a.http("GET", "/v1/health")
            kinds = (h or {}).get("kinds") or {}
            c.check(all((kinds.get(k) or {}).get("available") for k in ("time", "dns", "stream")),
                    f"health lists time, dns, stream as available: {kinds}")
            check_refused(c, a)
            check_time(c, a, d)
            check_dns(c, a, d)
            check_stream(c, a, d)
            check_stream_crash(c, a, d)
        finally:
            a.stop()
            reap_orphans()
    c.done()


main()
