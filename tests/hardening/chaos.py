#!/usr/bin/env python3
"""Chaos test of faultline-agent itself (issue #12).

One real agent on TCP loopback; three concurrent clients apply every fault
kind (pause by signal and by freezer, kill, stress of a process's cgroup,
disk_fill, syscall on shimmed processes and on a launched command, time, dns
and stream on shimmed processes, bandwidth egress and ingress, partition,
netem where the kernel has it) with short leases, and revert, renew or leave them to
their lease at random; meanwhile a hostile local user (uid 65534) runs the
attacks of issue #12 that a local user can: it floods the port with
unauthenticated requests (8 KB URLs, a NUL in the Authorization header),
keeps hundreds of half-written connections open from all of 127.0.0.0/8,
takes and releases the flock of its shimmed processes' shim tables,
truncates one of them to 0 bytes and back again and again (SIGBUS bait),
squats shim tables (/dev/shm/faultline-PID, a valid table's bytes) for
processes that have no shim, and plants a FIFO and a symlink to a denied
process's network namespace for the clients to name. The clients send those
hostile requests too, beside the real ones: a syscall fault on a process
with a squatted table, a FIFO as `pidfile` and as `netns_path`, and a
process the agent's policy denies reached by pid and by path aliases
(/proc//PID/ns/net, /proc/OTHER/root/proc/PID/ns/net, the symlink); each
must be refused (never 201) and answered within 2 s. The agent is SIGKILLed
at random moments and restarted on the same state dir, --kills times
(default 100); it must never die on its own. (A forged journal record is not
among the attacks: the state dir is root's, 0700, and a foreign one is
refused at start: agent.hardening.state_dir.)

Then every lease must have run out: nothing live, an empty journal, no
process stopped, no cgroup frozen, the network namespace's qdiscs, filters
and links as they were, no shim table, launched command, stress worker or
fill file of faultline's left; and every fault left to its lease must have been reverted (its
journal record gone) within 1 s of its deadline, whether the agent was
running then or was restarted after it. Prints the figures.

  tests/hardening/chaos.py AGENT SHIM [--kills 100] [--seed N] [--clients 3]
                           [--lease-priority N]

Needs root, ip(8) and tc(8) (the test's own setup and checks; the agent
uses netlink). SKIPPED (77) without them.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "agent"))
from hardlib import NOBODY, Agent, Procs, rmtree, skip, tempdir  # noqa: E402

LATE_MAX_S = 1.0

ATTACK = r"""
import fcntl, json, os, random, socket, sys, threading, time, resource
cfg = json.loads(sys.argv[1])
port = cfg["port"]
tables = cfg["tables"]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
stop = time.monotonic() + 3600
stats = {"flood": 0, "nul": 0, "held": 0, "evicted": 0, "truncated": 0, "squatted": 0}

# Planted before the clients start: a FIFO, a symlink to the denied process's
# network namespace, and a table (a real one's bytes) for each unshimmed pid.
os.mkfifo(cfg["dir"] + "/fifo", 0o666)
os.symlink("/proc/%d/ns/net" % cfg["denied"], cfg["dir"] + "/nslink")
model = open(tables[0], "rb").read()
for pid in cfg["squat"]:
    fd = os.open("/dev/shm/faultline-%d" % pid, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, model)
    os.close(fd)
    stats["squatted"] += 1

def flood():
    rnd = random.Random(1)
    while True:
        nul = rnd.random() < 0.3
        req = (b"GET /v1/faults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\0junk\r\n\r\n"
               if nul else b"GET /v1/faults/" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
            s.close()
            stats["nul" if nul else "flood"] += 1
        except OSError:
            time.sleep(0.05)
        time.sleep(0.002)

def slowloris():
    rnd = random.Random(2)
    socks = []
    while True:
        live = []
        for s in socks:
            try:
                if s.recv(1, socket.MSG_DONTWAIT) == b"":
                    stats["evicted"] += 1
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            live.append(s)
        socks = live
        while len(socks) < 300:
            try:
                s = socket.socket()
                s.bind(("127.0.0.%d" % rnd.randint(1, 20), 0))
                s.connect(("127.0.0.1", port))
                s.send(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            except OSError:
                time.sleep(0.05)
                break
        time.sleep(0.05)

def flocker(path, seed):
    rnd = random.Random(seed)
    while True:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            time.sleep(0.1)
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        stats["held"] += 1
        time.sleep(rnd.uniform(0.01, 0.08))
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        time.sleep(rnd.uniform(0.05, 0.2))

def truncator(path, seed):
    # Cut the table to 0 bytes under the agent (a mapping of it faults with
    # SIGBUS), then put its bytes back, again and again.
    rnd = random.Random(seed)
    while True:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            time.sleep(0.1)
            continue
        data = os.pread(fd, 1 << 20, 0)
        os.ftruncate(fd, 0)
        stats["truncated"] += 1
        time.sleep(rnd.uniform(0.005, 0.05))
        os.ftruncate(fd, len(data))
        os.pwrite(fd, data, 0)
        os.close(fd)
        time.sleep(rnd.uniform(0.05, 0.3))

ts = [threading.Thread(target=flood, daemon=True), threading.Thread(target=slowloris, daemon=True)]
ts += [threading.Thread(target=flocker, args=(t, i), daemon=True) for i, t in enumerate(tables)]
ts += [threading.Thread(target=truncator, args=(t, 100 + i), daemon=True)
       for i, t in enumerate(cfg["truncate"])]
for t in ts:
    t.start()
print("attacking", flush=True)
sys.stdin.readline()
print(" ".join("%s=%d" % kv for kv in sorted(stats.items())), flush=True)
"""

LAUNCHED = "#!/bin/sh\n# faultline chaos test: a command the agent launches\nexec sleep 60\n"


def sh(*argv, check=True):
    r = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stdout}")
    return r.stdout


def quiet_log(a, n):
    """The agent's last n log lines but the (rate-limited) noise of the attacks."""
    lines = [l for l in a.log_text().splitlines()
             if "unauthorized request" not in l and "libmicrohttpd" not in l]
    return "\n".join(lines[-n:])


def holders(path):
    """Processes with path open, for a diagnosis."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                if os.readlink(f"/proc/{p}/fd/{fd}") == path:
                    cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ")
                    st = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[:2]
                    out.append(f"{p} {st} {cmd[:120]!r}")
        except OSError:
            pass
    return "; ".join(out) or "none"


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return parts[4]
    return None


def net_state(ns, devs=("v0", "v1")):
    """What faultline must leave as it found it: qdiscs, filters, links."""
    out = []
    for dev in devs:
        out.append(sh("tc", "-n", ns, "qdisc", "show", "dev", dev))
        for parent in ("ingress", "egress", "root"):
            out.append(sh("tc", "-n", ns, "filter", "show", "dev", dev, parent, check=False))
    out.append(re.sub(r"\s+link/.*", "", sh("ip", "-n", ns, "-o", "link", "show")))
    return out


class Run:
    def __init__(self, o):
        self.o = o
        self.rng = random.Random(o.seed)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.tracked = {}  # id -> {"deadline", "kind", "done"}
        self.counts = {}
        self.restarts = []  # (killed at, serving again at)
        self.checked = threading.Event()  # the final checks begin: the monitor ends
        self.bypass = []  # hostile requests that got a 201
        self.hostile_max = (0.0, "")  # the slowest refusal: (seconds, what)
        self.died = []  # exit statuses of agent deaths that were not our SIGKILL

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("agent")
    ap.add_argument("shim")
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--lease-priority", type=int, default=0,
                    help="the agent's lease_priority (its leases at SCHED_FIFO N)")
    o = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root")
    for tool in ("ip", "tc"):
        if not shutil.which(tool):
            skip(f"{tool} (iproute2) is not installed")
    mnt = cgroup2_mount()
    print(f"chaos seed {o.seed}", flush=True)
    run = Run(o)
    P = Procs()
    d = tempdir("chaos")
    ns = f"fl-chaos-{os.getpid()}"
    ns2 = f"fl-chaos2-{os.getpid()}"  # the denied process's
    cg = f"/fl-chaos-{os.getpid()}"
    made_ns = made_ns2 = made_cg = False
    attacker = None
    state = None
    fill = None
    atk = None
    squat = []
    try:
        # disk_fill's directory: 1 MiB files, on the disk, not the journal's tmpfs.
        fill = tempfile.mkdtemp(prefix="fl-chaos-fill-", dir="/var/tmp")
        lib = d + "/libfaultline-preload.so"
        shutil.copy(o.shim, lib)
        os.chmod(lib, 0o644)
        marker = f"fl-chaos-launched-{os.getpid()}"
        with open(d + "/" + marker, "w") as f:
            f.write(LAUNCHED)
        os.chmod(d + "/" + marker, 0o755)
        # A network namespace of our own with a veth pair in it.
        sh("ip", "netns", "add", ns)
        made_ns = True
        sh("ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        sh("ip", "-n", ns, "addr", "add", "10.233.7.1/24", "dev", "v0")
        sh("ip", "-n", ns, "addr", "add", "10.233.7.2/24", "dev", "v1")
        sh("ip", "-n", ns, "link", "set", "v0", "up")
        sh("ip", "-n", ns, "link", "set", "v1", "up")
        net_before = net_state(ns)
        # A process the agent's policy denies (by name), alone in a second
        # namespace: no fault may reach it, by pid or by a path alias.
        sh("ip", "netns", "add", ns2)
        made_ns2 = True
        deny_name = f"fldeny{os.getpid() % 100000}"
        shutil.copy("/bin/sleep", d + "/" + deny_name)
        denied = P.sleeper(argv=("ip", "netns", "exec", ns2, d + "/" + deny_name, "1000"))
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                if open(f"/proc/{denied.pid}/comm").read().strip() == deny_name:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        with open(d + "/config.json", "w") as f:
            cfg = {"deny": {"names": [deny_name]}}
            if o.lease_priority:
                cfg["lease_priority"] = o.lease_priority
            json.dump(cfg, f)
        os.chmod(d + "/config.json", 0o600)
        net2_before = net_state(ns2, ("lo",))
        # The attacker's own folder: its FIFO and its symlink.
        atk = tempfile.mkdtemp(prefix="fl-chaos-atk-")
        os.chown(atk, NOBODY, NOBODY)
        os.chmod(atk, 0o755)
        cmd_tables_before = {f for f in os.listdir("/dev/shm") if f.startswith("faultline-cmd-")}
        # Targets.
        pausable = [P.sleeper() for _ in range(6)]
        frozen_procs = []
        if mnt:
            try:
                os.mkdir(mnt + cg)
                made_cg = True
                for _ in range(2):
                    s = P.sleeper()
                    with open(mnt + cg + "/cgroup.procs", "w") as f:
                        f.write(str(s.pid))
                    frozen_procs.append(s)
            except OSError as e:
                print(f"no freezer target: {e}")
        victims = [P.sleeper() for _ in range(4)]
        shimmed, tables = [], []
        for _ in range(4):  # the 4th one's table is truncated again and again
            s = P.sleeper(user=NOBODY, env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": lib})
            shimmed.append(s)
            t = f"/dev/shm/faultline-{s.pid}"
            end = time.monotonic() + 5
            while not os.path.exists(t) and time.monotonic() < end:
                time.sleep(0.01)
            tables.append(t)
        # The journal on tmpfs, as the shipped configurations keep it (/run): the
        # figures are the agent's, not a busy disk's fsync.
        state = tempfile.mkdtemp(prefix="fl-chaos-state-", dir="/dev/shm")
        a = Agent(o.agent, d, state=state, env=dict(os.environ, FAULTLINE_PRELOAD=lib),
                  extra=["--config", d + "/config.json"])
        if not a.start():
            raise RuntimeError("the agent did not start: " + a.log_text()[-600:])
        st, health = a.http("GET", "/v1/health")
        avail = {k for k, v in health["kinds"].items() if v.get("available")}
        freezer = made_cg and health["capabilities"].get("cgroup_freeze")

        def hostile_of(rng):
            """A request the agent must refuse: (tag, kind, target, params)."""
            lo = {"interface": "lo"}
            bw = {"rate": "1mbit"}
            return rng.choice([
                ("squatted table", "syscall", {"pid": rng.choice(squat)}, {"rules": ["write:EIO"]}),
                ("FIFO pidfile", "pause", {"pidfile": atk + "/fifo"}, {}),
                ("FIFO netns_path", "bandwidth", dict(lo, netns_path=atk + "/fifo"), bw),
                ("denied pid", "pause", {"pid": denied.pid}, {}),
                ("alias /proc//PID", "bandwidth",
                 dict(lo, netns_path=f"/proc//{denied.pid}/ns/net"), bw),
                ("alias /proc/OTHER/root", "partition",
                 dict(lo, netns_path=f"/proc/{pausable[0].pid}/root/proc/{denied.pid}/ns/net"),
                 {"peers": ["10.0.0.0/8"]}),
                ("alias symlink", "bandwidth", dict(lo, netns_path=atk + "/nslink"), bw),
            ])

        def hostile(cid, rng, n):
            tag, kind, target, params = hostile_of(rng)
            fid = f"h{cid}-{n}"
            t0 = time.monotonic()
            try:
                st, j = a.apply(fid, kind, target, params, ttl_ms=500, experiment=f"chaos-{cid}")
            except OSError:
                run.count("hostile: no answer (agent down)")
                return
            dt = time.monotonic() - t0
            code = j["error"]["code"] if st >= 400 and isinstance(j, dict) else ""
            run.count(f"hostile {tag}: {st} {code}".rstrip())
            with run.lock:
                run.hostile_max = max(run.hostile_max, (dt, tag))
            if st == 201:
                with run.lock:
                    run.bypass.append(f"{tag}: 201 for {kind} {json.dumps(target)}")
                try:
                    a.http("DELETE", "/v1/faults/" + fid)
                except OSError:
                    pass

        def target_of(kind, rng):
            if kind == "pause":
                if freezer and rng.random() < 0.3:
                    return "pause", {"cgroup": cg}, {"method": "freezer"}
                return "pause", {"pid": rng.choice(pausable).pid}, {}
            if kind == "kill":
                with run.lock:
                    alive = [v for v in victims if v.poll() is None]
                if not alive:
                    return None
                return "kill", {"pid": rng.choice(alive).pid}, {"signal": "TERM"}
            if kind == "stress":
                return "stress", {"pid": rng.choice(pausable).pid}, {"cpu": {"workers": 1,
                                                                             "load": 10}}
            if kind == "disk_fill":
                return "disk_fill", {}, {"path": fill, "bytes": 1048576}
            if kind == "time":
                return "time", {"pid": rng.choice(shimmed).pid}, {"offset": "-1h"}
            if kind == "dns":
                return "dns", {"pid": rng.choice(shimmed).pid}, {"action": "nxdomain",
                                                                  "patterns": ["*.invalid"]}
            if kind == "stream":
                return "stream", {"pid": rng.choice(shimmed).pid}, {
                    "type": "reset_peer", "attributes": {"timeout": 0}, "peer": {"port": 9}}
            if kind == "syscall":
                if rng.random() < 0.4:
                    return "syscall", {"command": [d + "/" + marker]}, {"rules": ["write:EIO"]}
                return "syscall", {"pid": rng.choice(shimmed).pid}, {"rules": ["write:EIO:p=0.5"]}
            dev = rng.choice(["v0", "v1"])
            t = {"netns": ns, "interface": dev}
            if kind == "bandwidth":
                p = {"rate": "1mbit"}
                if rng.random() < 0.5:
                    p["direction"] = "ingress"
                return "bandwidth", t, p
            if kind == "partition":
                return "partition", t, {"peers": ["10.233.7.0/24"],
                                        "direction": rng.choice(["to", "from", "both"])}
            return "netem", t, {"delay": "10ms"}

        def client(cid):
            rng = random.Random(o.seed * 31 + cid)
            n = 0
            while not run.stop.is_set():
                kind = rng.choice(["pause", "pause", "kill", "stress", "disk_fill", "syscall",
                                   "syscall", "time", "dns", "stream", "bandwidth",
                                   "bandwidth", "partition", "partition", "netem",
                                   "hostile", "hostile"])
                if kind == "hostile":
                    hostile(cid, rng, n)
                    n += 1
                    time.sleep(rng.uniform(0, 0.05))
                    continue
                spec = target_of(kind, rng)
                if not spec:
                    continue
                kind, target, params = spec
                fid = f"c{cid}-{n}"
                n += 1
                ttl = rng.randint(200, 800)
                try:
                    st, j = a.apply(fid, kind, target, params, ttl_ms=ttl,
                                    experiment=f"chaos-{cid}")
                except OSError:
                    run.count("apply: no answer (agent down)")
                    time.sleep(0.05)
                    continue
                t_recv = time.monotonic()
                run.count(f"apply {kind}: {st}" +
                          (f" {j['error']['code']}" if st >= 400 and isinstance(j, dict) else ""))
                if st != 201:
                    time.sleep(0.01)
                    continue
                deadline = t_recv + j["expires_in_ms"] / 1000
                r = rng.random()
                try:
                    if r < 0.25:
                        time.sleep(rng.uniform(0, ttl / 1000 * 0.7))
                        st, _ = a.http("DELETE", "/v1/faults/" + fid)
                        run.count(f"delete: {st}")
                        continue
                    if r < 0.35:
                        time.sleep(rng.uniform(0, ttl / 1000 * 0.5))
                        new = rng.randint(200, 800)
                        st, j = a.http("POST", f"/v1/faults/{fid}/renew", {"ttl_ms": new})
                        t_recv = time.monotonic()
                        run.count(f"renew: {st}")
                        if st == 200:
                            deadline = t_recv + j["expires_in_ms"] / 1000
                        elif st != 404:
                            continue  # unknown outcome: not timed
                except OSError:
                    run.count("delete/renew: no answer (agent down)")
                    continue
                with run.lock:
                    run.tracked[fid] = {"deadline": deadline, "kind": kind, "done": None}
                time.sleep(rng.uniform(0, 0.05))

        def monitor():
            """When each tracked fault's journal record goes: its revert is done."""
            fdir = a.state + "/faults"
            while True:
                try:
                    present = {f[:-5] for f in os.listdir(fdir) if f.endswith(".json")}
                except OSError:
                    present = set()
                now = time.monotonic()
                with run.lock:
                    for fid, v in run.tracked.items():
                        if v["done"] is None and fid not in present:
                            v["done"] = now
                # Until the clients are done and every lease had its time (run.checked).
                if run.checked.is_set():
                    break
                time.sleep(0.003)

        def reaper():
            while not run.stop.is_set():
                with run.lock:
                    for i, v in enumerate(victims):
                        if v.poll() is not None:
                            victims[i] = P.sleeper()
                            run.counts["kill targets killed"] = \
                                run.counts.get("kill targets killed", 0) + 1
                time.sleep(0.05)

        squat = [p.pid for p in pausable]  # root's processes, no shim: the attacker squats them
        attacker = P.as_user(ATTACK, json.dumps({
            "port": a.port, "tables": tables[:3], "truncate": tables[3:], "squat": squat,
            "dir": atk, "denied": denied.pid}), stdin=subprocess.PIPE)
        if attacker.stdout.readline().strip() != b"attacking":
            raise RuntimeError("the attacker did not start")
        run.stop_at = float("inf")
        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(o.clients)]
        threads += [threading.Thread(target=monitor, daemon=True),
                    threading.Thread(target=reaper, daemon=True)]
        for t in threads:
            t.start()
        t_start = time.monotonic()
        rng = random.Random(o.seed)
        for k in range(o.kills):
            time.sleep(rng.uniform(0.5, 2.0))
            t_kill = time.monotonic()
            if a.proc.poll() is not None:
                run.died.append(a.proc.returncode)  # not our SIGKILL: it died on its own
            a.kill9()
            if not a.start(secs=30):
                raise RuntimeError(f"restart {k + 1} failed (exit {a.proc.poll()}):\n" +
                                   quiet_log(a, 40) + "\nholders of agent.lock: " +
                                   holders(a.state + "/agent.lock"))
            run.restarts.append((t_kill, time.monotonic()))
        run.stop_at = time.monotonic()
        run.stop.set()
        for t in threads[:o.clients]:
            t.join(30)
        joined = time.monotonic() - run.stop_at
        # Every lease runs out (1.2 s at most after a renew) while the attack goes on.
        end = time.monotonic() + 15
        while time.monotonic() < end:
            time.sleep(0.1)
            with run.lock:
                pending = [f for f, v in run.tracked.items() if v["done"] is None]
            if not pending and time.monotonic() > run.stop_at + joined + 3.5:
                break
        run.checked.set()
        threads[o.clients].join(5)
        attacker.stdin.write(b"done\n")
        attacker.stdin.flush()
        astats = attacker.stdout.readline().decode().strip()
        attacker.kill()
        elapsed = time.monotonic() - t_start

        # --- what must be true now ---
        problems = []
        st, j = a.http("GET", "/v1/faults")
        if st != 200 or j["faults"]:
            problems.append(f"stuck faults: {st} {j}")
        if a.records():
            problems.append(f"journal not empty: {a.records()}")
        for s in pausable + frozen_procs + shimmed:
            state = open(f"/proc/{s.pid}/stat").read().rsplit(")", 1)[1].split()[0]
            if state == "T":
                problems.append(f"process {s.pid} left stopped")
        if made_cg:
            ev = open(mnt + cg + "/cgroup.events").read()
            if "frozen 1" in ev:
                problems.append(f"cgroup {cg} left frozen")
        net_after = net_state(ns)
        if net_after != net_before:
            problems.append("network namespace changed:\nbefore: %s\nafter: %s" %
                            (json.dumps(net_before), json.dumps(net_after)))
        if net_state(ns2, ("lo",)) != net2_before:
            problems.append("the denied process's network namespace changed")
        if run.died:
            problems.append(f"the agent died on its own {len(run.died)} times "
                            f"(exit statuses {run.died})")
        problems += ["policy or squat bypass: " + b for b in run.bypass]
        if run.hostile_max[0] > 2.0:
            problems.append(f"a hostile request took {run.hostile_max[0]:.1f} s to refuse "
                            f"({run.hostile_max[1]})")
        left_tables = [f for f in os.listdir("/dev/shm")
                       if f.startswith("faultline-cmd-") and f not in cmd_tables_before]
        launched = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if marker.encode() in open(f"/proc/{p}/cmdline", "rb").read():
                        launched.append(int(p))
                except OSError:
                    pass
        if launched:
            problems.append(f"launched commands left running: {launched}")
        workers = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if open(f"/proc/{p}/comm").read().startswith("fl-stress-"):
                        workers.append(int(p))
                except OSError:
                    pass
        if workers:
            problems.append(f"stress workers left running: {workers}")
        fills = os.listdir(fill)
        if fills:
            problems.append(f"fill files left in {fill}: {fills}")
        late, late_down, early = [], [], 0
        worst = (None, -1e9)
        by_kind = {}
        for fid, v in run.tracked.items():
            if v["done"] is None:
                problems.append(f"{fid} ({v['kind']}): never reverted")
                continue
            dt = v["done"] - v["deadline"]
            if dt < -0.01:
                early += 1  # reverted by the reconcile of a restart, before its deadline
                continue
            # Was the agent down at the deadline (killed, not serving yet)?
            down = any(k <= v["deadline"] <= up for k, up in run.restarts)
            (late_down if down else late).append(dt)
            if not down:
                by_kind[v["kind"]] = max(by_kind.get(v["kind"], -1e9), dt)
            if dt > worst[1]:
                worst = (fid + " " + v["kind"] + (" (agent down at its deadline)"
                                                  if down else ""), dt)
        late.sort()
        late_down.sort()
        over = [x for x in late + late_down if x > LATE_MAX_S]
        if over:
            problems.append(f"{len(over)} leases reverted more than {LATE_MAX_S} s after their "
                            f"deadline (worst {worst[0]}: {worst[1]:.3f} s)")
        rt = sorted(b - a_ for a_, b in run.restarts)
        st_stop = a.stop()
        if st_stop is None:
            problems.append("SIGTERM at the end: the agent did not exit")

        print(f"chaos: {o.kills} SIGKILLs in {elapsed:.1f} s, {o.clients} clients, seed {o.seed} "
              f"(the clients' last calls ended {joined:.1f} s after the last restart)")
        print(f"restarts (SIGKILL -> serving again): median {rt[len(rt) // 2] * 1000:.0f} ms, "
              f"max {rt[-1] * 1000:.0f} ms")
        for k in sorted(run.counts):
            print(f"  {k}: {run.counts[k]}")
        print(f"attacker (uid {NOBODY}): {astats}")
        print(f"hostile requests: {sum(v for k, v in run.counts.items() if k.startswith('hostile'))}"
              f", slowest answer {run.hostile_max[0] * 1000:.0f} ms ({run.hostile_max[1]}), "
              f"{len(run.bypass)} accepted; agent deaths not ours: {len(run.died)}")
        def dist(v):
            if not v:
                return "none"
            return (f"{len(v)}, p50 {v[len(v) // 2] * 1000:.1f} ms, p99 "
                    f"{v[int(len(v) * 0.99)] * 1000:.1f} ms, max {v[-1] * 1000:.1f} ms")

        print(f"faults left to their lease: {len(run.tracked)}; reverted (journal record "
              f"gone) after the deadline, agent running at the deadline: {dist(late)}; agent "
              f"killed at the deadline, reverted by the restart's reconcile: {dist(late_down)}; "
              f"reverted before the deadline by a restart's reconcile: {early}")
        own = sorted(int(m) / 1000 for m in re.findall(
            r'msg="fault reverted" id=\S+ kind=\S+ experiment=\S+ reason="lease expired" '
            r'late_ms=(\d+)', a.log_text()))
        print(f"the agent's own count (late_ms of its lease reverts, deadline to record gone): "
              f"{dist(own)}")
        print(f"worst: {worst[1] * 1000:.1f} ms, {worst[0]}; worst by kind, agent running: " +
              ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(by_kind.items())))
        print(f"leftovers: {len([p for p in problems if 'stuck' in p])} stuck faults, "
              f"journal {len(a.records())} records, {len(left_tables)} faultline-cmd tables, "
              f"{len(launched)} launched commands, {len(workers)} stress workers, "
              f"{len(fills)} fill files, network namespace "
              f"{'unchanged' if net_after == net_before else 'CHANGED'}")
        if left_tables:
            problems.append(f"shim tables left in /dev/shm: {left_tables}")
        if problems:
            for p in problems:
                print("FAIL: " + p)
            print(quiet_log(a, 60))
            sys.exit(1)
        print("PASS")
    finally:
        run.stop.set()
        P.done()
        if made_ns:
            sh("ip", "netns", "del", ns, check=False)
        if made_ns2:
            sh("ip", "netns", "del", ns2, check=False)
        for pid in squat:
            try:
                os.unlink(f"/dev/shm/faultline-{pid}")
            except OSError:
                pass
        if atk:
            rmtree(atk)
        if made_cg:
            for _ in range(50):
                try:
                    os.rmdir(mnt + cg)
                    break
                except OSError:
                    time.sleep(0.1)
        rmtree(d)
        if state:
            rmtree(state)
        if fill:
            rmtree(fill)


if __name__ == "__main__":
    main()
