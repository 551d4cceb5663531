#!/usr/bin/env python3
"""bench/agent: what does an idle faultline-agent cost? (#18 item 2)

Starts the agent twice on a loopback port, TLS off and TLS on (a certificate
made with certtool, client certificates required), and for each:

  memory  VmRSS after start (once /v1/health answers), and again after a
          warm-up (100 GET /v1/health and one pause fault applied and
          reverted): Pss, private (clean + dirty) and shared (clean + dirty)
          from /proc/PID/smaps_rollup, against the 8 MB target; the shared
          libraries mapped (/proc/PID/maps) and the largest mappings by Rss
          (what bounds it);
  idle    over --idle seconds with nothing to do and no fault live: the CPU
          time of every thread (schedstat) and how often each thread woke up
          (voluntary + involuntary context switches, /proc/PID/task/*/status):
          the target is 0 (no periodic wake-up beyond the lease timer).

  nice -n 10 python3 bench/agent/bench_idle.py [--agent build/agent/faultline-agent]
      [--idle 10]
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET_KB = 8 * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def kb(pid, f, key):
    with open("/proc/%d/%s" % (pid, f)) as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def threads_stat(pid):
    """(cpu ns, {thread: wake-ups}) of the threads."""
    ns, sw = 0, {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                ns += int(f.read().split()[0])
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                name = "%s:%s" % (t, f.read().strip())
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        sw[name] = sw.get(name, 0) + int(line.split()[1])
        except OSError:
            pass
    return ns, sw


def top_mappings(pid, n=8):
    maps, cur = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            w = line.split()
            if "-" in w[0] and len(w) >= 5 and not w[0].endswith(":"):
                cur = w[5] if len(w) > 5 else "[anon]"
            elif w[0] == "Rss:" and cur:
                maps[cur] = maps.get(cur, 0) + int(w[1])
    return sorted(maps.items(), key=lambda x: -x[1])[:n]


def libraries(pid):
    """The shared objects mapped into pid (the program itself not counted)."""
    libs = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            w = line.split()
            if len(w) > 5 and ".so" in os.path.basename(w[5]):
                libs.add(w[5])
    return libs


def memory(pid):
    m = {k: kb(pid, "smaps_rollup", k + ":") for k in
         ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")}
    m["VmRSS"] = kb(pid, "status", "VmRSS:")
    m["private"] = m["Private_Clean"] + m["Private_Dirty"]
    m["shared"] = m["Shared_Clean"] + m["Shared_Dirty"]
    m["libs"] = len(libraries(pid))
    return m


def certs(d):
    def gen(*a):
        subprocess.run(["certtool", *a], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    with open(d + "/ca.tmpl", "w") as f:
        f.write('cn = "bench CA"\nca\ncert_signing_key\nexpiration_days = 2\n')
    with open(d + "/srv.tmpl", "w") as f:
        f.write('cn = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\n'
                "encryption_key\nexpiration_days = 2\n")
    with open(d + "/cli.tmpl", "w") as f:
        f.write('cn = "bench controller"\ntls_www_client\nsigning_key\nexpiration_days = 2\n')
    for k in ("ca", "srv", "cli"):
        gen("--generate-privkey", "--key-type=ecdsa", "--outfile", "%s/%s.key" % (d, k))
    gen("--generate-self-signed", "--load-privkey", d + "/ca.key", "--template", d + "/ca.tmpl",
        "--outfile", d + "/ca.pem")
    for k in ("srv", "cli"):
        gen("--generate-certificate", "--load-privkey", "%s/%s.key" % (d, k), "--load-ca-certificate",
            d + "/ca.pem", "--load-ca-privkey", d + "/ca.key", "--template", "%s/%s.tmpl" % (d, k),
            "--outfile", "%s/%s.pem" % (d, k))


def run(a, tls):
    d = tempfile.mkdtemp(prefix="fl-bench-idle.")
    proc = sleeper = None
    try:
        token = os.urandom(24).hex()
        fd = os.open(d + "/token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, token.encode())
        os.close(fd)
        port = free_port()
        cmd = [a.agent, "--listen", "127.0.0.1:%d" % port, "--token-file", d + "/token",
               "--state-dir", d + "/state", "--log-level", "warn"]
        ctx = None
        if tls:
            certs(d)
            cmd += ["--tls-cert", d + "/srv.pem", "--tls-key", d + "/srv.key", "--tls-client-ca", d + "/ca.pem"]
            ctx = ssl.create_default_context(cafile=d + "/ca.pem")
            ctx.load_cert_chain(d + "/cli.pem", d + "/cli.key")
        log = open(d + "/agent.log", "w")
        proc = subprocess.Popen(cmd, stderr=log)

        def conn():
            if tls:
                return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
            return http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        c = None
        for _ in range(500):
            try:
                c = conn()
                c.request("GET", "/v1/health")
                c.getresponse().read()
                break
            except OSError:
                c = None
                time.sleep(0.02)
        if c is None:
            raise SystemExit("the agent did not answer: %s" % open(d + "/agent.log").read())
        time.sleep(1.0)
        start = memory(proc.pid)
        h = {"Authorization": "Bearer " + token}
        for _ in range(100):
            c.request("GET", "/v1/health", headers=h)
            c.getresponse().read()
        sleeper = subprocess.Popen(["sleep", "600"])
        body = json.dumps({"id": "idle1", "kind": "pause", "target": {"pid": sleeper.pid}, "ttl_ms": 60000})
        c.request("POST", "/v1/faults", body=body, headers=dict(h, **{"Content-Type": "application/json"}))
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise SystemExit("apply: HTTP %d" % r.status)
        c.request("DELETE", "/v1/faults/idle1", headers=h)
        c.getresponse().read()
        c.close()
        time.sleep(1.0)
        warm = memory(proc.pid)
        ns0, sw0 = threads_stat(proc.pid)
        t0 = time.monotonic()
        time.sleep(a.idle)
        ns1, sw1 = threads_stat(proc.pid)
        dt = time.monotonic() - t0
        nthreads = len(os.listdir("/proc/%d/task" % proc.pid))
        top = top_mappings(proc.pid)
        per = {k: (v - sw0.get(k, 0)) / dt for k, v in sw1.items()}
        return start, warm, (ns1 - ns0) / 1e6, per, dt, nthreads, top
    finally:
        if proc:
            proc.terminate()
            proc.wait()
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default=os.path.join(TOP, "build/agent/faultline-agent"))
    ap.add_argument("--idle", type=float, default=10.0)
    a = ap.parse_args()
    if not os.access(a.agent, os.X_OK):
        print("SKIPPED: no faultline-agent at %s (use --agent)" % a.agent)
        return 77
    if not shutil.which("certtool"):
        print("SKIPPED: certtool (gnutls-bin) is not installed")
        return 77
    for tls in (False, True):
        start, warm, cpu_ms, wakeups, dt, nthreads, top = run(a, tls)
        print("TLS %s (%d threads):" % ("on " if tls else "off", nthreads))
        for name, m in (("after start", start), ("after warm-up", warm)):
            print("  %-13s VmRSS %6d kB (%.2fx the 8 MB target), Pss %6d kB, private %6d kB "
                  "(clean %d, dirty %d), shared %6d kB, %d libraries"
                  % (name, m["VmRSS"], m["VmRSS"] / TARGET_KB, m["Pss"], m["private"],
                     m["Private_Clean"], m["Private_Dirty"], m["shared"], m["libs"]))
        print("  idle %.1f s: CPU %.3f ms, %.2f wake-ups/s (target 0): %s"
              % (dt, cpu_ms, sum(wakeups.values()), ", ".join("thread %s %.2f/s" % kv for kv in sorted(wakeups.items()))))
        print("  largest mappings by Rss: " + ", ".join("%s %d kB" % (os.path.basename(k), v) for k, v in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
