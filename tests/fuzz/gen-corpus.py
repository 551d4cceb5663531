#!/usr/bin/env python3
"""Regenerate the seed corpora under tests/fuzz/corpus/<target>/ from the test
suite's files, the docs' examples and the hand-written seeds below.
Usage: tests/fuzz/gen-corpus.py [BUILD_FUZZ_DIR]   (the build dir gives
gen_shm_seeds, which arms real tables for fuzz_shm_table's seeds).
Existing files (regression inputs included) are kept."""
import hashlib, json, os, re, subprocess, sys

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = os.path.join(top, "tests", "fuzz", "corpus")
MAX = 8192  # seeds stay small


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# experiment: the corpus of the validation suite, the examples, the doc's blocks.
for sub in ("valid", "invalid"):
    d = os.path.join(top, "tests", "corpus", sub)
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".json"):
            put("experiment", open(os.path.join(d, fn), "rb").read(), sub + "-" + fn)
for root, _, files in os.walk(os.path.join(top, "experiments", "examples")):
    for fn in sorted(files):
        if fn.endswith(".json"):
            put("experiment", open(os.path.join(root, fn), "rb").read(), "example-" + fn)
doc = open(os.path.join(top, "docs", "experiment-format.md")).read()
for i, m in enumerate(re.finditer(r"```json\n(.*?)```", doc, re.S)):
    put("experiment", m.group(1), "doc-%02d" % i)

# api: first byte picks the parser (0 apply, 1 renew, 2 error answer, 3 id).
apply_bodies = [
    {"id": "a", "kind": "pause", "target": {"pid": 5}, "ttl_ms": 1000},
    {"id": "a-1.b_c:d", "experiment": "e1", "kind": "kill", "target": {"name": "x", "count": 2, "seed": 42},
     "params": {"signal": "TERM"}, "ttl_ms": 86400000},
    {"id": "n1", "experiment": "exp", "kind": "netem", "target": {"netns": "h1", "interface": "veth0"},
     "params": {"delay": "100ms", "jitter": "10ms", "loss": "1%"}, "ttl_ms": 30000},
]
for b in apply_bodies:
    put("api", b"\x00" + json.dumps(b).encode())
for s in ['{"id":"a"} x', '{"id":"a","id":"b","kind":"pause","target":{},"ttl_ms":1}',
          '{"id":"a","kind":"pause","target":{},"ttl_ms":1e30}', '{"id":"a","kind":"pause","target":{"a":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]},"ttl_ms":1}']:
    put("api", b"\x00" + s.encode())
for s in ['{"ttl_ms": 60000}', "", '{"ttl_ms": -1}', '{"ttl": 5}']:
    put("api", b"\x01" + s.encode())
for s in ['{"error":{"code":"invalid_request","message":"expected an object","path":"$.target"}}',
          '{"error":{"code":"unauthorized","message":"bad token"}}', '{"error":"x"}', '<html>502</html>']:
    put("api", b"\x02" + s.encode())
for s in ["fault-1", "a/b", "x" * 65, "e1.2:3_4-5", ""]:
    put("api", b"\x03" + s.encode())

# fault_parse: {"kind", "target", "params"} for every kind.
faults = [
    ("kill", {"pid": 5}, {"signal": "TERM"}), ("kill", {"name": "nginx", "percent": 50, "seed": 7}, {"signal": 9}),
    ("kill", {"cmdline": "^sleep 1000\\.123$", "all": True}, {}), ("kill", {"cgroup": "/system.slice/x.service"}, {}),
    ("kill", {"pidfile": "/run/x.pid"}, {"signal": "SIGKILL"}),
    ("pause", {"pid": 5}, {"method": "signal"}), ("pause", {"cgroup": "/demo"}, {"method": "freezer"}),
    ("netem", {"netns": "h1", "interface": "veth0"}, {"delay": "100ms", "jitter": "10ms", "correlation": "25%",
                                                       "distribution": "normal"}),
    ("netem", {"pid": 1234, "route_to": "10.0.0.2"}, {"loss": "5%", "loss_correlation": 25, "duplicate": "1%",
                                                      "corrupt": "0.1%", "reorder": "25%", "delay": "10ms", "gap": 5}),
    ("netem", {"interface": "lo"}, {"gemodel": {"p": "1%", "r": "10%", "1-h": "70%", "1-k": "0.1%"},
                                    "rate": "1mbit", "limit": 1000, "match": {"dst": "10.0.0.0/8", "dport": 80}}),
    ("bandwidth", {"netns_path": "/var/run/netns/h1", "interface": "veth0"},
     {"rate": "1mbit", "burst": "32kb", "latency": "50ms", "peakrate": "2mbit", "mtu": 1500}),
    ("bandwidth", {"interface": "eth0"}, {"rate": "100kbit", "limit": "10kb", "match": {"src": "192.168.1.0/24"}}),
    ("partition", {"netns": "h1", "interface": "veth0"}, {"peers": ["10.0.0.2", "10.0.1.0/24"], "direction": "both"}),
    ("partition", {"interface": "veth0"}, {"peers": ["10.0.0.2"], "direction": "to"}),
    ("stress", {"pid": 5}, {"cpu": {"workers": 2, "load": 50}}),
    ("stress", {"cgroup": "/demo", "count": 1}, {"cpu": {"workers": 1}, "memory": {"mib": 64, "workers": 2}}),
    ("stress", {"name": "x"}, {"memory": {"mib": 1048577}}),
    ("stress", {"pid": 7}, {"io": {"path": "/var/tmp", "workers": 2, "mib": 8}}),
    ("disk_fill", {}, {"path": "/var/tmp", "bytes": 1048576}),
    ("disk_fill", {}, {"path": "/srv", "percent": 99.5}),
    ("disk_fill", {}, {"path": "/a/../b", "leave_free": 0}),
    ("time", {"pid": 5}, {"offset": "-5m", "clock_ids": ["CLOCK_REALTIME", "CLOCK_MONOTONIC_RAW"]}),
    ("time", {"command": ["/bin/date", "+%s"], "on_revert": "keep"}, {"offset": "+1h30m"}),
    ("dns", {"pids": [5, 6]}, {"action": "nxdomain", "patterns": ["*.internal", "db"]}),
    ("dns", {"pid": 5}, {"action": "answer", "address": "fd00::1", "patterns": ["api.example.com"]}),
    ("dns", {"pid": 5}, {"action": "timeout", "timeout": "2s", "patterns": ["*"]}),
    ("stream", {"pid": 5}, {"type": "reset_peer", "attributes": {"timeout": 100},
                            "peer": {"address": "fd00::/64", "port": 5432}}),
    ("stream", {"pid": 5}, {"type": "slicer", "stream": "upstream", "local_port": 8080,
                            "attributes": {"average_size": 100, "size_variation": 50, "delay": 10}}),
    ("stream", {"pid": 5}, {"type": "bandwidth", "attributes": {"rate": 100}, "peer": {"address": "10.0.0.0/8"}}),
    ("stream", {"pid": 5}, {"type": "limit_data", "stream": "both", "attributes": {"bytes": 65536}}),
]
for k, t, p in faults:
    put("fault_parse", json.dumps({"kind": k, "target": t, "params": p}))

# rules: the unit tests' and the docs' rule texts.
rules = set()
for f in (os.path.join(top, "tests", "unit", "test_preload_rules.c"),):
    for m in re.finditer(r'"([a-z0-9_,]+:[^"]*)"', open(f).read()):
        rules.add(m.group(1).replace("\\\\", "\\"))
for m in re.finditer(r"`([a-z0-9_,]+:[^`]*)`", open(os.path.join(top, "docs", "faults", "syscall.md")).read()):
    rules.add(m.group(1))
rules = sorted(r for r in rules if "%" not in r or "%:" in r or r.endswith("%"))
for r in rules:
    put("rules", r)

# units: durations, rates, sizes, percentages, CIDRs, --var k=v.
for s in ["100ms", "1.5s", "30", "2h", "10m", "250us", "0", "7d", "1e3", "0.0000000001s", "10080m",
          "604800s", "1mbit", "100kbit", "1gbit", "32kb", "1mb", "25%", "0.1%", "100%", "10.0.0.0/8",
          "192.168.1.1/32", "0.0.0.0/0", "k=v", "n:int=5", "a=", "=b"]:
    put("units", s)

# agent_config: the ownership policy.
for c in [{"allow": {"names": ["nginx"], "uids": [1000], "cgroups": ["/demo"], "cmdlines": ["^/usr/bin/sleep [0-9]+$"]},
           "deny": {"uids": [0]}, "kinds": ["kill", "pause"],
           "limits": {"max_body_bytes": 65536, "max_live_faults": 256, "max_ttl_ms": 3600000,
                      "rate_per_second": 200, "rate_burst": 400}},
          {"deny": {"names": ["sshd"], "cmdlines": ["(a|b)*c"]}}, {}, {"kinds": []}]:
    put("agent_config", json.dumps(c))

# shm_table: real tables armed with the rules above.
if len(sys.argv) > 1:
    gen = os.path.join(sys.argv[1], "tests", "fuzz", "gen_shm_seeds")
    d = os.path.join(out, "shm_table")
    os.makedirs(d, exist_ok=True)
    good = [r for r in rules if not r.startswith("clock_")]
    subprocess.run([gen, d] + good, check=True, stderr=subprocess.DEVNULL)

# journal: STATE_DIR/faults/ as a crash leaves it; files "NAME\nCONTENT" joined by NUL.
def rec(i, kind, undo, exp="exp-1"):
    return ("%s.json\n" % i) + json.dumps({"id": i, "experiment": exp, "kind": kind, "ttl_ms": 60000,
                                          "applied_wall_ms": 1700000000000, "undo": undo})
ident = {"pid": 4194303, "start": 123456}
journals = {
    "kill": [rec("k1", "kill", {"kind": "kill", "signal": 15, "seed": 7, "targets": [ident],
                                "signalled": [ident], "gone": []})],
    "pause-signal": [rec("p1", "pause", {"kind": "pause", "method": "signal", "seed": 1,
                                         "targets": [dict(ident, was_stopped=False), dict(ident, was_stopped=True)]})],
    "pause-freezer": [rec("p2", "pause", {"kind": "pause", "method": "freezer", "cgroup_dir": "/sys/fs/cgroup/demo",
                                          "was_frozen": False, "targets": [ident], "frozen": True})],
    "pause-pods": [rec("p3", "pause", {"kind": "pause", "method": "signal", "targets": [ident],
                                       "pods": [{"uid": "0f5c7d5e-1b2a-4c3d-8e9f-0a1b2c3d4e5f", "namespace": "default",
                                                 "name": "web-0", "containers": {"app": "containerd://abc123"}}]})],
    "netem": [rec("n1", "netem", {"fault": "netem", "netns": "", "netns_ino": 0, "ifname": "lo", "ifindex": 1,
                                  "prev": {"kind": "noqueue", "handle": 0, "options": ""}})],
    "netem-prev": [rec("n2", "netem", {"fault": "netem", "netns": "/var/run/netns/h1", "netns_ino": 4026532000,
                                       "ifname": "veth0", "ifindex": 5,
                                       "prev": {"kind": "fq_codel", "handle": 0,
                                                "options": "08000100881300000800020064000000"}})],
    "bandwidth": [rec("b1", "bandwidth", {"fault": "bandwidth", "netns": "", "netns_ino": 0, "ifname": "lo",
                                          "prev": {"kind": "pfifo_fast", "handle": 0, "options": ""}})],
    "partition-bpf": [rec("x1", "partition", {"fault": "partition", "mechanism": "cls_bpf", "netns": "",
                                              "netns_ino": 0, "ifname": "lo", "created_clsact": True,
                                              "hooks": ["ingress", "egress"]})],
    "partition-netem": [rec("x2", "partition", {"fault": "partition", "mechanism": "netem", "netns": "",
                                                "netns_ino": 0, "ifname": "lo", "ifindex": 1,
                                                "prev": {"kind": "", "handle": 0, "options": ""}})],
    "syscall": [rec("s1", "syscall", {"tables": [{"table": "/faultline-4194303", "pid": 4194303}], "seed": 0})],
    "syscall-launch": [rec("s2", "syscall", {"tables": [{"table": "/faultline-l1", "created": True}], "seed": 0,
                                             "launch": {"on_revert": "stop"}, "processes": [ident]})],
    "stress": [rec("w1", "stress", {"kind": "stress", "seed": 1, "hold": 7, "targets": [ident],
                                    "cpu_workers": 1, "cpu_load": 50, "memory_workers": 1, "memory_mib": 8,
                                    "cgroups": ["/sys/fs/cgroup/demo"],
                                    "io_workers": 1, "io_mib": 2,
                                    "io_file": {"dir": "/tmp", "dir_dev": 2049, "dir_ino": 2,
                                                "name": "faultline-io-0123456789abcdef"},
                                    "workers": [dict(ident, role="cpu"), dict(ident, pid=4194302, role="io")]})],
    "disk_fill": [rec("d1", "disk_fill", {"kind": "disk_fill", "dir": "/tmp", "dir_dev": 2049, "dir_ino": 2,
                                          "name": "faultline-fill-0123456789abcdef", "bytes": 4096,
                                          "free_before": 1048576, "ino": 12})],
    "stale-tmp": [".k9.tmp\n{\"id\":", "k9.json\n{\"id\":\"k9\",\"kind\":\"kill\",\"undo\":{}}"],
    "corrupt": ["c1.json\n{\"id\":\"c1\",\"kind\":\"pause\",\"undo\":", "c2.json\n[1,2]", "c3.json\n",
                "bad name.json\n{}", "c4.json\n{\"kind\":\"teleport\",\"undo\":{}}"],
    "many": [rec("m%d" % i, k, {}) for i, k in enumerate(["kill", "pause", "netem", "syscall", "partition"])],
}
# Records a real faultline-agent wrote (its STATE_DIR/faults/ after a SIGKILL, the
# faults live): time and stream on a shimmed process by pid and on a launched command,
# dns on a launched command, stress (with its cgroup baseline) in a child cgroup of
# the v2 hierarchy, disk_fill. Their pids name nothing in the fuzzer's PID namespace.
real = {
    'disk_fill-real':
        '{"id":"disk_fill-real","experiment":"seed","kind":"disk_fill","ttl_ms":600000,"applied_wall_ms":1796505180812,"undo":{"kind":"disk_fill","dir":"/tmp/fl-preload-11pye0ks","dir_dev":"65024","dir_ino":"10953539","name":"faultline-fill-60dfee94e6ee22ef","bytes":"65536","free_before":"84084310016","ino":"10953671"}}',
    'dns-launch':
        '{"id":"dns-launch","experiment":"seed","kind":"dns","ttl_ms":600000,"applied_wall_ms":1796505180726,"undo":{"tables":[{"table":"/faultline-cmd-48706d164da66406","created":true}],"launch":{"path":"/bin/sh","hold":"15779010623727458320","on_revert":"stop","mode":"shim"},"rules":["dns:answer=10.9.9.9:host=*.invalid","dns:answer=10.9.9.9:host=db.example"],"seed":3627373935254548,"processes":[{"pid":17021,"start":1849547,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1"}]}}',
    'stream-launch':
        '{"id":"stream-launch","experiment":"seed","kind":"stream","ttl_ms":600000,"applied_wall_ms":1796505180771,"undo":{"tables":[{"table":"/faultline-cmd-05c5fa31b236aa03","created":true}],"launch":{"path":"/bin/sh","hold":"10072196657364307671","on_revert":"stop","mode":"shim"},"rules":["limit_data:bytes=1000:dir=recv:addr=[::1]:port=80"],"seed":1923164180248057,"processes":[{"pid":17024,"start":1849551,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1"}]}}',
    'stream-pid':
        '{"id":"stream-pid","experiment":"seed","kind":"stream","ttl_ms":600000,"applied_wall_ms":1796505180761,"undo":{"tables":[{"table":"/faultline-17016","pid":17016}],"rules":["reset_peer:bytes=0:dir=recv:addr=127.0.0.1:port=5432"],"seed":8560085906924157}}',
    'stress-real':
        '{"id":"stress-real","experiment":"seed","kind":"stress","ttl_ms":600000,"applied_wall_ms":1796505180797,"undo":{"io_file":{"dir":"/tmp/fl-preload-11pye0ks","dir_dev":"65024","dir_ino":"10953539","name":"faultline-io-1c8d24446f57308f","ino":"10953670"},"kind":"stress","seed":"15914287337073329298","hold":"86105871237235848","targets":[{"pid":17026,"start":1849553,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1"}],"cpu_workers":1,"cpu_load":10,"memory_workers":1,"memory_mib":4,"io_workers":1,"io_mib":1,"workers":[{"pid":17027,"start":1849553,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1","role":"cpu"},{"pid":17028,"start":1849554,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1","role":"vm"},{"pid":17029,"start":1849554,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1","role":"io"}],"cgroups":["/sys/fs/cgroup/unified/fl-seed-16931"],"cgroup_base":[{"mono_ns":"18495545838165","usage_usec":"2504"}]}}',
    'time-launch':
        '{"id":"time-launch","experiment":"seed","kind":"time","ttl_ms":600000,"applied_wall_ms":1796505180702,"undo":{"tables":[{"table":"/faultline-cmd-7b3d201882abd9f0","created":true}],"launch":{"path":"/bin/sh","hold":"15018505324969101473","on_revert":"stop","mode":"shim"},"rules":["time:offset=+1h:clock=realtime"],"seed":7208772911016056,"processes":[{"pid":17018,"start":1849545,"boot":"3ee5cf84-7b19-4b0c-b5fa-947f38d2b9c1"}]}}',
    'time-pid':
        '{"id":"time-pid","experiment":"seed","kind":"time","ttl_ms":600000,"applied_wall_ms":1796505180691,"undo":{"tables":[{"table":"/faultline-17015","pid":17015}],"rules":["time:offset=-90s:clock=realtime,monotonic"],"seed":5484486120027103}}',
}
def real_files(*ids):
    return ["%s.json\n%s" % (i, real[i]) for i in ids]
journals.update({
    "real-time": real_files("time-pid", "time-launch"),
    "real-dns": real_files("dns-launch"),
    "real-stream": real_files("stream-pid", "stream-launch"),
    "real-stress": real_files("stress-real"),
    "real-disk_fill": real_files("disk_fill-real"),
    "real-all": real_files(*sorted(real)),
    # stress where the cgroup has every counter (memory and io controllers on)
    "stress-cgroup-base": [rec("w2", "stress", {"kind": "stress", "seed": 1, "hold": 8, "targets": [ident],
                                               "cpu_workers": 2, "cpu_load": 100, "memory_workers": 0,
                                               "memory_mib": 0, "io_workers": 0, "io_mib": 16,
                                               "cgroups": ["/sys/fs/cgroup/a", "/sys/fs/cgroup/b"],
                                               "workers": [dict(ident, role="cpu")],
                                               "cgroup_base": [{"mono_ns": "1", "usage_usec": "5",
                                                                "memory_current": "4096", "io_wbytes": "0"},
                                                               {"mono_ns": 18446744073709551615}]})],
})
for name, files in journals.items():
    put("journal", "\0".join(files), name)

# prometheus: /api/v1/query answers; byte 0 even: body as text, odd: parsed JSON.
prom = [
    {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "up", "job": "faultline-agent"}, "value": [1700000000.123, "1"]}]}},
    {"status": "success", "data": {"resultType": "vector", "result": []}},
    {"status": "success", "data": {"resultType": "scalar", "result": [1700000000, "0.25"]}},
    {"status": "success", "data": {"resultType": "scalar", "result": [1700000000, "NaN"]}},
    {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "+Inf"]}]}},
    {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"]]}]}},
    {"status": "success", "data": {"resultType": "string", "result": [1, "x"]}},
    {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"},
    {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1e400"]}]},
     "warnings": ["w"]},
]
for i, d in enumerate(prom):
    put("prometheus", b"\x00" + json.dumps(d).encode(), "text-%02d" % i)
    put("prometheus", b"\x01" + json.dumps(d).encode(), "json-%02d" % i)
put("prometheus", b"\x00<html>502 Bad Gateway</html>", "text-html")

# vars: 0 --var-file, 1 --var lines, 2 environment (A\nB), 3 shlex.
for i, d in enumerate([{"args": "-c 'exit 3'", "timeout": "2.5", "status": 1, "pid": "42", "duration": "250ms",
                        "url": "http://localhost:8080/x?y=1", "title": "${url}"},
                       {"configuration": {"timeout": 7, "ei": 3}, "secrets": {"s": {"token": "abc"}}},
                       {"bad-name": 1}, {"x": [1]}, {}]):
    put("vars", b"\x00" + json.dumps(d).encode(), "file-%02d" % i)
for i, s in enumerate(["args=-c \"echo ${x}\" 'a b'\ntimeout:float=1.5\nstatus:int=0",
                       "pid:json={\"a\":1}\nduration=1h\nurl=ftp://x", "ea:bool=no\neb:json=[1,2]",
                       "title=${title}\nargs=\\", "9x=1", "timeout:int=1e999"]):
    put("vars", b"\x01" + s.encode(), "var-%02d" % i)
for i, s in enumerate(["sh\n{\"a\": [1, 2]}", "12\n3.5", "\n", "x\nnot json"]):
    put("vars", b"\x02" + s.encode(), "env-%02d" % i)
for i, s in enumerate(["a 'b c' \"d \\\"e\\\" f\" g\\ h", "'unterminated", "\"x\\", "  \t\n", "a\\\nb",
                       "\"\\$HOME \\` \\\\ \\q\""]):
    put("vars", b"\x03" + s.encode(), "shlex-%02d" % i)

# controller, byte 0 = 2: a pod target, then a PodList page (fl_kube_discovery_pick).
podlist = open(os.path.join(out, "kube", "podlist"), "rb").read()
for i, t in enumerate([{"pod": {"namespace": "shop", "labels": {"app": "cart"}}, "count": 1, "seed": "42"},
                       {"pod": {"namespace": "shop", "labels": {"app": "cart"}, "container": "web"},
                        "percent": 50, "seed": 7},
                       {"pod": {"name": "cart-1", "namespace": "shop"}}]):
    put("controller", b"\x02" + json.dumps(t, separators=(",", ":")).encode() + b"\n" + podlist, "pick-%d" % i)
