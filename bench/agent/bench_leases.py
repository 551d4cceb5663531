#!/usr/bin/env python3
"""bench/agent: do leases fire on time under load? (#18 item 5)

One faultline-agent (loopback TCP, journal on /dev/shm, limits raised), N
sleeping child processes of this bench, and N `pause` faults, one on each,
whose deadlines are spread SPREAD_MS apart starting a few seconds after the
last apply (so that N faults are live at once when the first lease fires).
While the leases fire, `hey` sends RATE API requests per second (GET
/v1/faults by default: the whole table, under the agent's lock) for the
whole window.

When a pause fault's lease fires, the agent sends SIGCONT: a thread here
waits in waitid(WCONTINUED) and stamps each child's continue on
CLOCK_MONOTONIC. The deadline of each fault is the apply's answer time plus
the `expires_in_ms` the answer carries (ms steps: each deadline is known to
about 1 ms). Lateness = continue - deadline; the target: every lease within
10 ms of its deadline. Printed: p50, p99, worst, how many over 10 ms, and
the same with no API load in the same run (the baseline), and what hey got.
Beside it, the agent's own figure, from its log ("fault reverted", late_ms:
when the revert was done and its journal record gone, after the deadline):
what the agent did, without this bench's watcher thread (Python) in it.

  nice -n 10 python3 bench/agent/bench_leases.py [--faults 1000] [--rate 500]
      [--spread-ms 10] [--api-path /v1/faults] [--agent build/agent/faultline-agent]
      [--agent-nice N] [--lease-priority N]

The agent's log splits each lease revert into stages (stages_us): the lease
thread taking it after its deadline, a worker starting it, the kind's revert,
the journal; printed per stage with the three slowest. --agent-nice and
--lease-priority N (the agent's config key: its lease thread and revert
workers at SCHED_FIFO N) measure what scheduling priority alone changes.
With cyclictest (Debian's rt-tests) installed, each window also runs it at
SCHED_FIFO 2 on every CPU: the machine's own real-time wake-up latency in
the same window, to compare the agent's worst with.
bench/agent/leases_settings.sh runs the three settings in turn, twice.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    return v[max(1, min(len(v), int(-(-p * len(v) // 100)))) - 1]


class Agent:
    def __init__(self, a, d, nfaults):
        self.token = os.urandom(24).hex()
        fd = os.open(d + "/token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, self.token.encode())
        os.close(fd)
        cfg = {"limits": {"max_live_faults": nfaults + 16, "rate_per_second": 1000000,
                          "rate_burst": 1000000}}
        if a.lease_priority:
            cfg["lease_priority"] = a.lease_priority
        with open(d + "/config.json", "w") as f:
            json.dump(cfg, f)
        self.port = free_port()
        self.log = open(d + "/agent.log", "w")
        self.proc = subprocess.Popen(
            [a.agent, "--listen", "127.0.0.1:%d" % self.port, "--token-file", d + "/token",
             "--state-dir", "/dev/shm/" + os.path.basename(d) + "-state", "--config",
             d + "/config.json", "--log-level", "info", "--log-format", "json"], stderr=self.log,
            preexec_fn=(lambda: os.setpriority(os.PRIO_PROCESS, 0, a.agent_nice))
            if a.agent_nice is not None else None)
        self.log_path = d + "/agent.log"
        self.state = "/dev/shm/" + os.path.basename(d) + "-state"
        for _ in range(500):
            try:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.c.request("GET", "/v1/health")
                self.c.getresponse().read()
                break
            except OSError:
                time.sleep(0.02)
        else:
            raise SystemExit("the agent did not answer")
        if a.lease_priority:
            with open(self.log_path) as f:
                if '"leases run at SCHED_FIFO"' not in f.read():
                    raise SystemExit("the agent did not put its leases at SCHED_FIFO: see "
                                     + self.log_path)

    def call(self, method, path, body=None):
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            h["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                return r.status, r.read()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # the agent closed an idle kept-alive connection: open another
                if attempt:
                    raise
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def late_ms(self, tag):
        """late_ms of the lease reverts of faults whose id starts with tag (the agent's log)."""
        out = []
        with open(self.log_path) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("msg") == "fault reverted" and e.get("reason") == "lease expired" and \
                        str(e.get("id", "")).startswith(tag) and "late_ms" in e:
                    # stages_us: none from an agent older than the field (printed as such)
                    st = [int(x) for x in e["stages_us"].split("/")] if "stages_us" in e else None
                    out.append((float(e["late_ms"]), st))
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.state, ignore_errors=True)


def cyclictest(window):
    """cyclictest (rt-tests) at SCHED_FIFO 2, one thread per CPU waking every 1 ms,
    for window s: the machine's own real-time wake-up latency in the same window,
    above the agent's lease_priority 1 so that the agent's threads do not hold it
    up, or None without it."""
    if not shutil.which("cyclictest"):
        return None
    return subprocess.Popen(["cyclictest", "-q", "--default-system", "-S", "-p", "2", "-i", "1000",
                             "-D", "%d" % (int(window) + 1)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def cyclictest_max(ct):
    """The worst wake-up latency (ms) of each CPU's cyclictest thread."""
    if ct is None:
        return None
    try:
        out = ct.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        ct.kill()
        out = ct.communicate()[0]
    m = [int(x.split("Max:")[1].split()[0]) / 1000.0 for x in out.splitlines() if "Max:" in x]
    return m or None


def round_(a, ag, load, tag):
    kids = [subprocess.Popen(["sleep", "3600"]) for _ in range(a.faults)]
    cont = {}
    by_pid = {k.pid: i for i, k in enumerate(kids)}
    done = threading.Event()

    def watch():
        while len(cont) < len(kids):
            try:
                r = os.waitid(os.P_ALL, 0, os.WCONTINUED)
            except ChildProcessError:
                break
            now = time.monotonic()
            if r is None:
                continue
            if r.si_pid in by_pid and r.si_code == os.CLD_CONTINUED:
                cont.setdefault(by_pid[r.si_pid], now)
        done.set()

    deadlines = [0.0] * a.faults
    try:
        # Deadlines spread_ms apart, the first a little after the applies are all in.
        t_first = time.monotonic() + a.faults * 0.003 + 3.0
        for i, k in enumerate(kids):
            ttl = int((t_first + i * a.spread_ms / 1000.0 - time.monotonic()) * 1000)
            body = json.dumps({"id": "%s%d" % (tag, i), "experiment": "leases", "kind": "pause",
                               "target": {"pid": k.pid}, "ttl_ms": max(ttl, 1)})
            st, data = ag.call("POST", "/v1/faults", body)
            t_ans = time.monotonic()
            if st != 201:
                raise SystemExit("apply %d: HTTP %d %s" % (i, st, data[:200]))
            deadlines[i] = t_ans + json.loads(data)["expires_in_ms"] / 1000.0
        live = len(json.loads(ag.call("GET", "/v1/faults")[1])["faults"])
        # One GET /v1/faults with every fault live, back to back: how long the agent
        # spends on it (it lists the table under the lock the lease thread needs).
        lst = []
        for _ in range(20):
            t0 = time.monotonic()
            ag.call("GET", "/v1/faults")
            lst.append((time.monotonic() - t0) * 1000.0)
        w = threading.Thread(target=watch, daemon=True)
        w.start()
        hey = None
        window = max(deadlines) - time.monotonic() + 2.0
        ct = cyclictest(window)
        if load:
            workers = 10
            hey = subprocess.Popen(
                ["hey", "-z", "%.1fs" % window, "-c", str(workers), "-q", "%g" % (a.rate / workers),
                 "-H", "Authorization: Bearer " + ag.token, "http://127.0.0.1:%d%s" % (ag.port, a.api_path)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        done.wait(window + 30)
        hey_out = hey.communicate()[0] if hey else ""
        late = [(cont[i] - deadlines[i]) * 1000.0 for i in range(a.faults) if i in cont]
        rps = ""
        for line in hey_out.splitlines():
            if "Requests/sec" in line:
                rps = line.split()[-1]
        codes = [line.strip() for line in hey_out.splitlines() if line.strip().startswith("[")]
        codes += [" ".join(line.split()[:3]) for line in hey_out.splitlines() if line.strip().startswith("99% in")]
        return live, late, a.faults - len(late), rps, codes, pct(lst, 50), cyclictest_max(ct)
    finally:
        for k in kids:
            k.kill()
        for k in kids:
            k.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default=os.path.join(TOP, "build/agent/faultline-agent"))
    ap.add_argument("--faults", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--spread-ms", type=float, default=10)
    ap.add_argument("--api-path", default="/v1/faults")
    ap.add_argument("--agent-nice", type=int, default=None,
                    help="the agent's nice value (default: this bench's own)")
    ap.add_argument("--lease-priority", type=int, default=0,
                    help="the agent's lease_priority (its lease thread and revert workers "
                    "at SCHED_FIFO N; default 0: off)")
    a = ap.parse_args()
    if not os.access(a.agent, os.X_OK):
        print("SKIPPED: no faultline-agent at %s (use --agent)" % a.agent)
        return 77
    if not shutil.which("hey"):
        print("SKIPPED: hey is not installed (scripts/deps.sh installs it)")
        return 77
    d = tempfile.mkdtemp(prefix="fl-bench-leases.")
    ag = None
    try:
        ag = Agent(a, d, a.faults)
        with open("/proc/loadavg") as f:
            print("load average at start: %s" % " ".join(f.read().split()[:3]))
        res = {}
        own = {}
        for load, tag in ((False, "q"), (True, "l")):
            res[load] = round_(a, ag, load, tag)
        for load, tag in ((False, "q"), (True, "l")):
            own[load] = ag.late_ms(tag)
        with open("/proc/loadavg") as f:
            print("load average at end: %s" % " ".join(f.read().split()[:3]))
    finally:
        if ag:
            ag.stop()
        shutil.rmtree(d, ignore_errors=True)
    print("%d pause faults, deadlines %g ms apart; lateness = SIGCONT seen - deadline (+-1 ms)"
          % (a.faults, a.spread_ms))
    for load in (False, True):
        live, late, missing, rps, codes, lst, ct = res[load]
        what = ("with %g API requests/s (hey, GET %s): got %s/s %s"
                % (a.rate, a.api_path, rps or "?", " ".join(codes))) if load else "no API load (baseline)"
        print("  %s" % what)
        print("    live at the first deadline %d (one GET /v1/faults of them: %.2f ms); lateness p50 "
              "%.3f ms, p99 %.3f ms, worst %.3f ms; over 10 ms: %d; never continued: %d"
              % (live, lst, pct(late, 50), pct(late, 99), max(late) if late else float("nan"),
                 sum(1 for x in late if x > 10), missing))
        o = [x[0] for x in own[load]]
        print("    the agent's own (its log, revert done after the deadline, 1 ms steps): %d reverts, "
              "p50 %.0f ms, p99 %.0f ms, worst %.0f ms; over 10 ms: %d"
              % (len(o), pct(o, 50), pct(o, 99), max(o) if o else float("nan"),
                 sum(1 for x in o if x > 10)))
        if ct:
            print("    the machine's own SCHED_FIFO wake-up latency, same window (cyclictest -S "
                  "-p 2 -i 1000): worst %s ms per CPU; the agent's worst / the machine's: %.2f"
                  % (", ".join("%.3f" % x for x in ct),
                     (max(o) if o else float("nan")) / max(max(ct), 1e-3)))
        # Where the time went (the agent's stages_us): the lease thread taking the fault
        # after its deadline, a worker starting it, the kind's revert, the journal.
        names = ("taken", "worker", "revert", "journal")
        for i, n in enumerate(names):
            v = [x[1][i] / 1000.0 for x in own[load] if x[1]]
            if v:
                print("      %-8s p50 %7.3f ms  p99 %7.3f ms  worst %7.3f ms"
                      % (n, pct(v, 50), pct(v, 99), max(v)))
        worst = sorted((x for x in own[load] if x[1]), key=lambda x: -x[0])[:3]
        if worst:
            print("      slowest: " + "; ".join(
                "%.0f ms = %s" % (x[0], " + ".join("%.1f" % (y / 1000.0) for y in x[1])) for x in worst))
    if res[False][1] and res[True][1]:
        print("  ratio loaded / baseline: p99 %.2f, worst %.2f"
              % (pct(res[True][1], 99) / max(pct(res[False][1], 99), 1e-3),
                 max(res[True][1]) / max(max(res[False][1]), 1e-3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
