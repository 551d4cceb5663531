#!/usr/bin/env python3
"""Soak of faultline-agent (tests/soak/soak.sh runs this): see soak.sh."""
import http.client, json, os, random, re, shutil, signal, socket, subprocess, sys, tempfile, time

AGENT = sys.argv[1]
NPAUSE = int(os.environ.get("SOAK_PAUSE", "600"))
NSYS = int(os.environ.get("SOAK_SYSCALL", "100"))
SHIM = os.environ.get("SOAK_SHIM", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1]))),
                                                "preload", "libfaultline-preload.so"))
NTBF = int(os.environ.get("SOAK_TBF", "300"))
NCHURN = int(os.environ.get("SOAK_CHURN_IF", "8"))
SECS = int(os.environ.get("SOAK_SECS", "60"))
RATE = int(os.environ.get("SOAK_RATE", "500"))
THREADS = int(os.environ.get("SOAK_THREADS", "10"))
ROUNDS = int(os.environ.get("SOAK_ROUNDS", "2"))
HERE = os.path.dirname(os.path.abspath(__file__))
ns = "fl-soak-%d" % os.getpid()
d = tempfile.mkdtemp(prefix="fl-soak-")
procs, agent, fail = [], None, []


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw).stdout


def rss(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Api:
    def __init__(self, port, token):
        self.port, self.token = port, token
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None):
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                return r.status, (json.loads(data) if data[:1] in (b"{", b"[") else data.decode())
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        raise RuntimeError("agent unreachable")


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (": " + detail if detail and not ok else ""))
    if not ok:
        fail.append(what)


def cleanup():
    if agent and agent.poll() is None:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(60)
        except subprocess.TimeoutExpired:
            agent.kill()
    for p in procs:
        try:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
            p.wait()
        except OSError:
            pass
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


try:
    # Hosts: one netns, a veth pair per tbf fault and per churn interface.
    sh("ip netns add " + ns)
    batch = ["link set lo up"]
    for i in range(NTBF):
        batch += ["link add b%d type veth peer name B%d" % (i, i), "link set b%d up" % i]
    for t in range(THREADS):
        for i in range(NCHURN):
            batch += ["link add c%d_%d type veth peer name C%d_%d" % (t, i, t, i), "link set c%d_%d up" % (t, i)]
    with open(d + "/batch", "w") as f:
        f.write("\n".join(batch) + "\n")
    sh("ip -n %s -batch %s/batch" % (ns, d))
    # Targets: real sleeping processes with a name the agent's allow-list admits.
    sleeper = d + "/fl-soak-sleep"
    shutil.copy(shutil.which("sleep"), sleeper)
    for i in range(NPAUSE):
        procs.append(subprocess.Popen([sleeper, "3600"]))
    # Shimmed targets: a shell under the preload shim appending a line to its own
    # file every second; the syscall fault (write:EIO) fails those writes.
    shimsh = d + "/fl-soak-shim"
    shutil.copy("/bin/sh", shimsh)
    shims, outs = [], []
    for i in range(NSYS):
        outs.append("%s/w%d" % (d, i))
        shims.append(subprocess.Popen([shimsh, "-c", 'exec 3>>"$0"; while :; do echo x >&3; sleep 1; done', outs[-1]],
                                      env=dict(os.environ, LD_PRELOAD=SHIM), stderr=subprocess.DEVNULL))
    procs.extend(shims)
    deadline = time.time() + 20
    while time.time() < deadline and not all(os.path.exists("/dev/shm/faultline-%d" % p.pid) for p in shims):
        time.sleep(0.1)
    token = "%032x" % random.getrandbits(128)
    # Created 0600: the agent refuses a token file group or others can read.
    with os.fdopen(os.open(d + "/token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(token + "\n")
    cfg = {"allow": {"names": ["fl-soak-sleep", "fl-soak-shim"]},
           "limits": {"max_live_faults": NPAUSE + NSYS + NTBF + 4 * THREADS + 64, "rate_per_second": 1e6, "rate_burst": 1e6}}
    with open(d + "/config.json", "w") as f:
        json.dump(cfg, f)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(d + "/agent.log", "w")
    agent = subprocess.Popen([AGENT, "--listen", "127.0.0.1:%d" % port, "--token-file", d + "/token",
                              "--state-dir", d + "/state", "--config", d + "/config.json"], stderr=log)
    api = Api(port, token)
    for _ in range(200):
        try:
            if api.call("GET", "/v1/health")[0] == 200:
                break
        except RuntimeError:
            pass
        time.sleep(0.05)
    time.sleep(0.5)
    rss0 = rss(agent.pid)

    rss_end = []
    for rnd_no in range(ROUNDS):
        print("-- round %d" % (rnd_no + 1))
        rnd = random.Random(42 + rnd_no)
        # 1,000 live faults; 30% (index % 10 < 3, never renewed) with leases that run out during the load.
        t0 = time.time()
        short = 0
        for i, p in enumerate(procs[:NPAUSE]):
            ttl = rnd.randint(15000, max(15000, SECS * 900)) if i % 10 < 3 else 600000
            short += ttl < 600000
            st, body = api.call("POST", "/v1/faults", {"id": "p-%d-%d" % (rnd_no, i), "experiment": "soak", "kind": "pause",
                                                       "target": {"pid": p.pid}, "params": {}, "ttl_ms": ttl})
            if st != 201:
                check("apply pause p-%d" % i, False, "%s %s" % (st, body))
                raise SystemExit(1)
        for i in range(NTBF):
            ttl = rnd.randint(15000, max(15000, SECS * 900)) if i % 10 < 3 else 600000
            short += ttl < 600000
            st, body = api.call("POST", "/v1/faults", {"id": "b-%d-%d" % (rnd_no, i), "experiment": "soak", "kind": "bandwidth",
                                                       "target": {"netns": ns, "interface": "b%d" % i},
                                                       "params": {"rate": "%dmbit" % (1 + i % 100)}, "ttl_ms": ttl})
            if st != 201:
                check("apply tbf b-%d" % i, False, "%s %s" % (st, body))
                raise SystemExit(1)
        for i, p in enumerate(shims):
            ttl = rnd.randint(15000, max(15000, SECS * 900)) if i % 10 < 3 else 600000
            short += ttl < 600000
            st, body = api.call("POST", "/v1/faults", {"id": "s-%d-%d" % (rnd_no, i), "experiment": "soak", "kind": "syscall",
                                                       "target": {"pid": p.pid}, "params": {"rules": ["write:EIO"]},
                                                       "ttl_ms": ttl})
            if st != 201:
                check("apply syscall s-%d" % i, False, "%s %s" % (st, body))
                raise SystemExit(1)
        ta = time.time() - t0
        live = len(api.call("GET", "/v1/faults")[1]["faults"])
        stopped = sum(1 for p in procs if open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()[0] == "T")
        tbfs = sh("ip netns exec %s tc qdisc show" % ns).count("qdisc tbf")
        check("%d faults live (%d pauses, %d syscall, %d tbf; %d with leases ending during the load), applied in %.1f s"
              % (live, NPAUSE, NSYS, NTBF, short, ta), live == NPAUSE + NSYS + NTBF, str(live))
        check("%d processes stopped, %d tbf qdiscs" % (stopped, tbfs), stopped == NPAUSE and tbfs == NTBF)
        sizes = [os.path.getsize(o) for o in outs]
        time.sleep(2.5)
        grew = [i for i, o in enumerate(outs) if os.path.getsize(o) != sizes[i]]
        check("%d shimmed processes armed: their writes fail" % NSYS, not grew, "still writing: %s" % grew[:10])
        rss1 = rss(agent.pid)

        # The load: wrk, one connection per thread, a request every THREADS*1000/RATE ms each.
        env = dict(os.environ, SOAK_TOKEN=token, SOAK_NS=ns, SOAK_PAUSE=str(NPAUSE), SOAK_TBF=str(NTBF),
                   SOAK_CHURN_IF=str(NCHURN), SOAK_ROUND=str(rnd_no), SOAK_DELAY_MS=str(int(THREADS * 1000 / RATE)))
        out = subprocess.run(["wrk", "-t%d" % THREADS, "-c%d" % THREADS, "-d%ds" % SECS, "--latency", "--timeout", "10s",
                              "-s", HERE + "/soak.lua", "http://127.0.0.1:%d" % port],
                             env=env, capture_output=True, text=True, timeout=SECS + 120).stdout
        print(out.rstrip())
        m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
        reqs, dur = (int(m.group(1)), float(m.group(2)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(3)]) if m else (0, 1)
        check("requests served: %d in %.1f s = %.0f/s" % (reqs, dur, reqs / dur), reqs / dur >= 0.9 * RATE)
        errs = re.search(r"Socket errors: (.*)", out)
        check("no socket errors", not errs, errs.group(1) if errs else "")
        rss2 = rss(agent.pid)

        # Revert what is left, wait for churn leases, then look at the system.
        st, _ = api.call("DELETE", "/v1/faults?all=true")
        check("revert all -> 200", st == 200, str(st))
        deadline = time.time() + 30
        while time.time() < deadline and api.call("GET", "/v1/faults")[1]["faults"]:
            time.sleep(0.5)
        check("no live fault left", not api.call("GET", "/v1/faults")[1]["faults"])
        time.sleep(1)
        rss3 = rss(agent.pid)
        metrics = api.call("GET", "/metrics")[1]
        stopped = [p.pid for p in procs if open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()[0] == "T"]
        check("no process left stopped", not stopped, str(stopped[:10]))
        q = sh("ip netns exec %s tc qdisc show" % ns)
        check("no tbf qdisc left", "qdisc tbf" not in q, q[:300])
        sizes = [os.path.getsize(o) for o in outs]
        time.sleep(2.5)
        still = [i for i, o in enumerate(outs) if os.path.getsize(o) == sizes[i]]
        check("every shimmed process disarmed: its writes succeed again", not still, "still failing: %s" % still[:10])
        jl = os.listdir(d + "/state/faults") if os.path.isdir(d + "/state/faults") else []
        check("journal empty", not jl, str(jl[:5]))
        print("rss: start %d KiB, faults live %d KiB, after the load %d KiB, all reverted %d KiB"
              % (rss0, rss1, rss2, rss3))
        rss_end.append(rss3)
    # glibc keeps freed heap (high-water mark): a leak shows as growth from round to round.
    if ROUNDS > 1:
        check("no growth across rounds (round %d ends at %d KiB, round 1 at %d KiB, start %d KiB)"
              % (ROUNDS, rss_end[-1], rss_end[0], rss0), rss_end[-1] <= rss_end[0] + 512,
              "%d vs %d" % (rss_end[-1], rss_end[0]))
    agent.send_signal(signal.SIGTERM)
    agent.wait(60)
    log.close()
    text = open(d + "/agent.log").read()
    applied = re.findall(r'msg="fault applied" id=(\S+)', text)
    reverted = re.findall(r'msg="fault reverted" id=(\S+)', text)
    from collections import Counter
    rc = Counter(reverted)
    bad = [i for i in applied if rc[i] != 1] + [i for i in rc if rc[i] > 1]
    check("every applied fault reverted exactly once (%d applied, %d reverts, %d by lease)"
          % (len(applied), len(reverted), text.count('reason="lease expired"')), not bad and len(set(applied)) == len(applied),
          str(bad[:10]))
    for k in ("applied", "reverted", "failed"):
        print("metrics:", ", ".join(re.findall(r"faultline_agent_faults_%s_total\{kind=\"(\w+)\"\} (\d+)" % k, metrics)
                                    and ["%s %s=%s" % (k, a, b) for a, b in re.findall(
                                        r"faultline_agent_faults_%s_total\{kind=\"(\w+)\"\} (\d+)" % k, metrics)]))
finally:
    cleanup()
print("SOAK " + ("PASS" if not fail else "FAIL: " + "; ".join(fail)))
sys.exit(1 if fail else 0)
