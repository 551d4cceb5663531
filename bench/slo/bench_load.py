#!/usr/bin/env python3
"""bench/slo: is the `load` probe as exact as the tools SREs trust?

Runs, in one process and interleaved round by round, against one nginx
(one worker, a static file, loopback):

  probe  faultline's `load` probe, once-judged, RATE req/s for DURATION
         (`faultline run` on a one-probe experiment; its journal has the
         window's samples and percentiles; its CPU time from rusage)
  hey    `hey -z DURATION -c C -q RATE/C`: C workers, each rate-limited, the
         same rate: the rate-matched reference (its latencies from CSV)
  wrk    `wrk -t1 -c1`: closed loop, one connection back to back, as fast
         as the server answers: the latency floor, not at the same rate

and, for the achieved rate, what the server saw: nginx logs `$msec` for
each request and the bench counts the requests of each run and their span
((n - 1) / (last - first), 1 ms resolution).

Then the stall: the same probe and hey runs at STALL_RATE while the bench
stops nginx's worker (SIGSTOP) for STALL ms a second into the run and
continues it (SIGCONT). An open-loop tool that measures from the scheduled
send time sees every request scheduled in the stall late by up to STALL:
p99 = STALL - 1 % of DURATION (50 ms for 100 ms in 5 s), max = STALL. A
closed-loop tool (hey: each worker waits for its answer before the next)
sees only its C requests in flight late ("coordinated omission").

Prints per rate the medians over the rounds and the ratios: probe rate /
set rate, probe p50 / hey p50, probe p99 / hey p99; CPU (% of one core)
per 1,000 req/s, probe and hey; and for the stall the probe's and hey's
p99 and max against the ideal. Run by hand after a build (not a test):

  nice -n 10 python3 bench/slo/bench_load.py [--rates 1000,5000]
      [--duration 5] [--rounds 5] [--stall-ms 100] [--stall-rate 1000]
      [--hey-workers 10] [--fl build/controller/faultline]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pct(sorted_v, p):
    """Nearest rank, as the probe computes it."""
    if not sorted_v:
        return float("nan")
    rank = max(1, min(len(sorted_v), int(-(-p * len(sorted_v) // 100))))
    return sorted_v[rank - 1]


class Nginx:
    def __init__(self, tmp):
        self.tmp = tmp
        www, ng = os.path.join(tmp, "www"), os.path.join(tmp, "ng")
        os.makedirs(www)
        os.makedirs(ng)
        os.chmod(tmp, 0o755)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("hi\n")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = os.path.join(tmp, "access.log")
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(
                "worker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                "events { worker_connections 4096; }\n"
                "http { log_format t '$msec'; access_log %s t buffer=256k flush=100ms;\n"
                "  keepalive_requests 1000000;\n"
                "  server { listen 127.0.0.1:%d backlog=4096; root %s; } }\n"
                % (tmp, ng, self.log, self.port, www)
            )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", ng, "-c", conf, "-g", "daemon off;"])
        self.url = "http://127.0.0.1:%d/" % self.port
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        self.worker = None
        for _ in range(100):
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = f.read().split()
                if kids:
                    self.worker = int(kids[0])
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if not self.worker:
            raise SystemExit("nginx started no worker")
        self.pos = 0

    def requests_since_mark(self):
        """(n, span_s) of the requests logged since the last call."""
        time.sleep(0.3)  # the log's flush interval is 100 ms
        with open(self.log) as f:
            f.seek(self.pos)
            data = f.read()
            self.pos = f.tell()
        ts = [float(x) for x in data.split()]
        return len(ts), (max(ts) - min(ts)) if len(ts) > 1 else 0.0

    def stall_later(self, after_s, stall_ms):
        def go():
            time.sleep(after_s)
            os.kill(self.worker, signal.SIGSTOP)
            time.sleep(stall_ms / 1000.0)
            os.kill(self.worker, signal.SIGCONT)

        t = threading.Thread(target=go)
        t.start()
        return t

    def stop(self):
        os.kill(self.worker, signal.SIGCONT)
        self.proc.terminate()
        self.proc.wait()


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_probe(a, ng, rate, stall_ms=0):
    exp = os.path.join(ng.tmp, "b.json")
    jr = os.path.join(ng.tmp, "j.json")
    with open(exp, "w") as f:
        json.dump(
            {
                "title": "bench",
                "steady-state-hypothesis": {
                    "title": "h",
                    "probes": [
                        {
                            "type": "probe",
                            "name": "load",
                            "mode": "before",
                            "tolerance": {"success_ratio": {"min": 0}},
                            "provider": {
                                "type": "load",
                                "url": ng.url,
                                "rate": rate,
                                "duration": "%gs" % a.duration,
                            },
                        }
                    ],
                },
                "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
            },
            f,
        )
    ng.requests_since_mark()
    c0 = child_cpu()
    t = ng.stall_later(1.0, stall_ms) if stall_ms else None
    subprocess.run([a.fl, "run", "--journal", jr, exp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if t:
        t.join()
    cpu = child_cpu() - c0
    o = json.load(open(jr))["steady_states"]["before"]["probes"][0]["output"]
    n, span = ng.requests_since_mark()
    lat = o["latency_ms"]
    return {
        "sent": n,
        "rate": (n - 1) / span if span else 0,
        "failed": o["failed"],
        "p50": lat["p50"],
        "p99": lat["p99"],
        "max": lat["max"],
        "cpu": cpu,
    }


def run_hey(a, ng, rate, stall_ms=0):
    c = a.hey_workers
    out = os.path.join(ng.tmp, "hey.csv")
    ng.requests_since_mark()
    c0 = child_cpu()
    t = ng.stall_later(1.0, stall_ms) if stall_ms else None
    with open(out, "w") as f:
        subprocess.run(
            ["hey", "-z", "%gs" % a.duration, "-c", str(c), "-q", "%g" % (rate / c), "-o", "csv", ng.url],
            stdout=f,
            stderr=subprocess.DEVNULL,
        )
    if t:
        t.join()
    cpu = child_cpu() - c0
    lat, failed = [], 0
    with open(out) as f:
        next(f, None)
        for line in f:
            v = line.strip().split(",")
            if len(v) < 7:
                continue
            if v[6] != "200":
                failed += 1
            lat.append(float(v[0]) * 1000)
    lat.sort()
    n, span = ng.requests_since_mark()
    return {
        "sent": n,
        "rate": (n - 1) / span if span else 0,
        "failed": failed,
        "p50": pct(lat, 50),
        "p99": pct(lat, 99),
        "max": lat[-1] if lat else float("nan"),
        "cpu": cpu,
    }


WRK_LUA = """
local d = tonumber(os.getenv("FL_WRK_DELAY_MS") or "0")
if d > 0 then function delay() return d end end
done = function(s, lat, req)
  io.write(string.format("FLRESULT %d %d %d %d %d %d\\n", s.requests,
    s.errors.connect + s.errors.read + s.errors.write + s.errors.status + s.errors.timeout,
    lat:percentile(50), lat:percentile(99), lat.max, s.duration))
end
"""


def run_wrk(a, ng, conns, delay_ms, duration, stall_ms=0):
    """wrk, one thread; with delay_ms each connection waits that long after each answer."""
    script = os.path.join(ng.tmp, "pace.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
    env = dict(os.environ, FL_WRK_DELAY_MS=str(delay_ms))
    ng.requests_since_mark()
    c0 = child_cpu()
    t = ng.stall_later(1.0, stall_ms) if stall_ms else None
    r = subprocess.run(
        ["wrk", "-t1", "-c%d" % conns, "-d%gs" % duration, "-s", script, ng.url],
        capture_output=True,
        text=True,
        env=env,
    )
    if t:
        t.join()
    cpu = child_cpu() - c0
    n, span = ng.requests_since_mark()
    for line in r.stdout.splitlines():
        if line.startswith("FLRESULT"):
            v = [int(x) for x in line.split()[1:]]
            return {
                "sent": n,
                "rate": (n - 1) / span if span else 0,
                "failed": v[1],
                "p50": v[2] / 1000.0,
                "p99": v[3] / 1000.0,
                "max": v[4] / 1000.0,
                "cpu": cpu,
            }
    raise SystemExit("wrk printed no result: %s %s" % (r.stdout, r.stderr))


WRK_DELAY_MS = 10


def wrk_conns(a, ng, rate):
    """Connections for a paced wrk at `rate`: each does one request per (delay + its time)."""
    c = max(1, round(rate * WRK_DELAY_MS / 1000.0))
    got = run_wrk(a, ng, c, WRK_DELAY_MS, 1.0)["rate"]
    return max(1, round(c * rate / got)) if got else c


def sweep(a, ng, rates, delays):
    """
    The probe against paced wrk at the same rate with fewer or more connections:
    wrk -cN waiting d ms after each answer, N = rate * d / 1000 (d whole ms: wrk's
    delay() is in ms). Round by round interleaved; prints medians and ratios.
    """
    rows = {(r, d): [] for r in rates for d in delays}
    probe = {r: [] for r in rates}
    for rnd in range(a.rounds):
        for rate in rates:
            probe[rate].append(run_probe(a, ng, rate))
            for d in delays:
                n = max(1, round(rate * d / 1000.0))
                rows[(rate, d)].append(dict(run_wrk(a, ng, n, d, a.duration), conns=n))
        print("sweep round %d/%d done" % (rnd + 1, a.rounds), file=sys.stderr)
    print("sweep: probe vs paced wrk at the same set rate, by wrk's connections (medians of %d rounds)" % a.rounds)
    print("%-6s %-14s %8s %9s %9s %13s %13s" % ("rate", "client", "got/s", "p50_ms", "p99_ms", "probe/wrk p50", "probe/wrk p99"))
    for rate in rates:
        p = probe[rate]
        print("%-6g %-14s %8.1f %9.3f %9.3f" % (rate, "probe", med(p, "rate"), med(p, "p50"), med(p, "p99")))
        for d in delays:
            w = rows[(rate, d)]

            def rr(key):
                return statistics.median(x[key] / y[key] for x, y in zip(p, w) if y[key])

            print(
                "%-6g %-14s %8.1f %9.3f %9.3f %13.3f %13.3f"
                % (rate, "wrk -c%d %dms" % (w[0]["conns"], d), med(w, "rate"), med(w, "p50"), med(w, "p99"), rr("p50"), rr("p99"))
            )


def med(rows, key):
    return statistics.median(r[key] for r in rows)


TOOLS = ("probe", "wrk", "hey")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="1000,5000")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--stall-ms", type=float, default=100.0)
    ap.add_argument("--stall-rate", type=float, default=1000.0)
    ap.add_argument("--hey-workers", type=int, default=20)
    ap.add_argument(
        "--sweep",
        default="",
        help="only the sweep: paced wrk with these delays in ms (e.g. 1,2,5,10,25,50) against the probe",
    )
    ap.add_argument("--fl", default=os.environ.get("FL_BIN", os.path.join(TOP, "build/controller/faultline")))
    a = ap.parse_args()
    for tool in ("hey", "wrk"):
        if not shutil.which(tool):
            print("SKIPPED: %s is not installed (scripts/deps.sh installs it)" % tool)
            return 77
    if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        print("SKIPPED: nginx is not installed (scripts/deps.sh installs it)")
        return 77
    rates = [float(x) for x in a.rates.split(",")]
    tmp = tempfile.mkdtemp(prefix="fl-bench-slo.")
    ng = Nginx(tmp)
    res = {r: {t: [] for t in TOOLS + ("floor",)} for r in rates}
    stall = {t: [] for t in TOOLS}
    conns = {}
    try:
        with open("/proc/loadavg") as f:
            print("load average at start: %s" % " ".join(f.read().split()[:3]))
        if a.sweep:
            sweep(a, ng, rates, [int(x) for x in a.sweep.split(",")])
            return 0
        for rate in sorted(set(rates + [a.stall_rate])):
            conns[rate] = wrk_conns(a, ng, rate)
        for rnd in range(a.rounds):
            for rate in rates:
                res[rate]["probe"].append(run_probe(a, ng, rate))
                res[rate]["wrk"].append(run_wrk(a, ng, conns[rate], WRK_DELAY_MS, a.duration))
                res[rate]["hey"].append(run_hey(a, ng, rate))
                res[rate]["floor"].append(run_wrk(a, ng, 1, 0, a.duration))
            if a.stall_ms:
                stall["probe"].append(run_probe(a, ng, a.stall_rate, a.stall_ms))
                stall["wrk"].append(run_wrk(a, ng, conns[a.stall_rate], WRK_DELAY_MS, a.duration, a.stall_ms))
                stall["hey"].append(run_hey(a, ng, a.stall_rate, a.stall_ms))
            print("round %d/%d done" % (rnd + 1, a.rounds), file=sys.stderr)
        with open("/proc/loadavg") as f:
            print("load average at end: %s" % " ".join(f.read().split()[:3]))
    finally:
        ng.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        "medians of %d rounds, %g s each; nginx (1 worker, static file) on loopback; rate = what "
        "nginx logged, (n-1)/span" % (a.rounds, a.duration)
    )
    print(
        "probe: open loop, latency from each request's scheduled time; wrk: -t1 -c N, each "
        "connection waits %d ms after each answer (the rate-matched reference, latency from send, "
        "1 us steps); hey: -c %d -q rate/%d (0.1 ms steps); floor: wrk -t1 -c1 unpaced (closed "
        "loop, as fast as nginx answers)" % (WRK_DELAY_MS, a.hey_workers, a.hey_workers)
    )
    hdr = "%-6s %-6s %9s %8s %7s %9s %9s %9s %12s"
    print(hdr % ("rate", "tool", "requests", "got/s", "failed", "p50_ms", "p99_ms", "max_ms", "cpu%/1000rps"))
    for rate in rates:
        for tool in TOOLS + ("floor",):
            rows = res[rate][tool]
            print(
                "%-6g %-6s %9d %8.1f %7d %9.3f %9.3f %9.3f %12.2f"
                % (
                    rate,
                    tool if tool != "wrk" else "wrk/%d" % conns[rate],
                    med(rows, "sent"),
                    med(rows, "rate"),
                    med(rows, "failed"),
                    med(rows, "p50"),
                    med(rows, "p99"),
                    med(rows, "max"),
                    100 * med(rows, "cpu") / a.duration / (rate / 1000),
                )
            )
    print("ratios (medians of the per-round ratios):")
    for rate in rates:
        p, w, h, fl = (res[rate][t] for t in TOOLS + ("floor",))

        def rr(key, x_rows, y_rows):
            return statistics.median(x[key] / y[key] for x, y in zip(x_rows, y_rows) if y[key])

        print(
            "  %g req/s: achieved/set probe %.4f, wrk %.4f, hey %.4f; probe/wrk p50 %.3f, p99 %.3f; "
            "probe/hey p50 %.3f, p99 %.3f; probe/floor p50 %.2f; CPU probe/wrk %.2f, probe/hey %.2f"
            % (
                rate,
                med(p, "rate") / rate,
                med(w, "rate") / rate,
                med(h, "rate") / rate,
                rr("p50", p, w),
                rr("p99", p, w),
                rr("p50", p, h),
                rr("p99", p, h),
                rr("p50", p, fl),
                rr("cpu", p, w),
                rr("cpu", p, h),
            )
        )
    if a.stall_ms:
        ideal99 = max(0.0, a.stall_ms - 0.01 * a.duration * 1000)
        print(
            "stall: nginx's worker stopped %g ms, 1 s into a %g s run at %g req/s; open-loop "
            "ideal p99 %.1f ms, max %.1f ms (+ the server's time)"
            % (a.stall_ms, a.duration, a.stall_rate, ideal99, a.stall_ms)
        )
        for tool in TOOLS:
            rows = stall[tool]
            print(
                "  %-5s p50 %.3f ms, p99 %.3f ms (%.2fx ideal), max %.3f ms, failed %d"
                % (
                    tool,
                    med(rows, "p50"),
                    med(rows, "p99"),
                    med(rows, "p99") / ideal99 if ideal99 else 0,
                    med(rows, "max"),
                    med(rows, "failed"),
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
