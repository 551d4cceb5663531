#!/usr/bin/env python3
"""Checks deploy/kubernetes/*.yaml against the programs they run and the docs.

usage: manifests_test.py SOURCE_DIR FAULTLINE_AGENT [FAULTLINE]

- every file is well-formed YAML; every object has apiVersion, kind, metadata.name;
- the objects docs/kubernetes.md promises are there (Namespace, ServiceAccount,
  ClusterRole/Binding, Secret, DaemonSet, headless Service, CronJob);
- RBAC reads pods and nodes only;
- the DaemonSet: hostPID, exactly the documented capabilities, no
  `privileged: true` unless docs/kubernetes.md has a "Why privileged" section,
  liveness on /v1/health, the state dir on a hostPath, Prometheus annotations,
  NODE_NAME from spec.nodeName;
- the container args use only flags the agent really has (read from
  `faultline-agent --help`), and the real agent starts with them (paths and
  port swapped for temporary ones) and answers /v1/health;
- the CronJob's command uses only `faultline run` flags that exist, and its
  experiment passes `faultline validate`; its inventory finds the DaemonSet.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import yaml
except ImportError:
    print("SKIPPED: python3-yaml is not installed")
    sys.exit(77)

src, agent = sys.argv[1], sys.argv[2]
cli = sys.argv[3] if len(sys.argv) > 3 else None
kdir = os.path.join(src, "deploy", "kubernetes")
docs = open(os.path.join(src, "docs", "kubernetes.md")).read()
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


objs = {}
for name in sorted(os.listdir(kdir)):
    if not name.endswith(".yaml"):
        continue
    with open(os.path.join(kdir, name)) as f:
        try:
            docs_in_file = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            failures.append("%s: not well-formed YAML: %s" % (name, e))
            continue
    for d in docs_in_file:
        if name == "kustomization.yaml":
            for r in d.get("resources", []):
                check(os.path.exists(os.path.join(kdir, r)), "kustomization: missing %s" % r)
            continue
        ok = check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                   and d.get("metadata", {}).get("name"),
                   "%s: an object without apiVersion/kind/metadata.name" % name)
        if not ok:
            continue
        objs[(d["kind"], d["metadata"]["name"])] = d
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            check(d["metadata"].get("namespace") == "faultline",
                  "%s %s: not in namespace faultline" % (d["kind"], d["metadata"]["name"]))
        check(name in docs, "docs/kubernetes.md does not mention %s" % name)

for kind, name in [("Namespace", "faultline"), ("ServiceAccount", "faultline-agent"),
                   ("ServiceAccount", "faultline-runner"), ("ClusterRole", "faultline-read"),
                   ("ClusterRoleBinding", "faultline-read"), ("Secret", "faultline-agent-token"),
                   ("DaemonSet", "faultline-agent"), ("Service", "faultline-agent"),
                   ("CronJob", "faultline-experiment"), ("ConfigMap", "faultline-experiment")]:
    check((kind, name) in objs, "missing %s/%s" % (kind, name))
if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)

# RBAC: read pods and nodes, nothing else.
role = objs[("ClusterRole", "faultline-read")]
for rule in role["rules"]:
    check(rule.get("apiGroups") == [""], "ClusterRole: a rule outside the core API group")
    check(set(rule.get("resources", [])) <= {"pods", "nodes"},
          "ClusterRole: resources beyond pods/nodes: %s" % rule.get("resources"))
    check(set(rule.get("verbs", [])) <= {"get", "list", "watch"},
          "ClusterRole: verbs beyond get/list/watch: %s" % rule.get("verbs"))
binding = objs[("ClusterRoleBinding", "faultline-read")]
check({(s["name"], s["namespace"]) for s in binding["subjects"]} ==
      {("faultline-agent", "faultline"), ("faultline-runner", "faultline")},
      "ClusterRoleBinding: subjects are not the agent and runner service accounts")


def walk(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from walk(v, path + "." + k)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from walk(v, "%s[%d]" % (path, i))
    yield path, o


# No privileged: true anywhere unless the docs justify it.
for (kind, name), o in objs.items():
    for path, v in walk(o):
        if path.endswith(".privileged") and v is True:
            check("## Why privileged" in docs,
                  "%s/%s%s: privileged: true without a \"Why privileged\" section in the docs"
                  % (kind, name, path))

ds = objs[("DaemonSet", "faultline-agent")]
pod = ds["spec"]["template"]
spec = pod["spec"]
check(ds["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
      "DaemonSet: selector does not match its pod labels")
check(spec.get("hostPID") is True, "DaemonSet: hostPID is not true")
check(not spec.get("hostNetwork"), "DaemonSet: hostNetwork is not needed")
check(spec.get("serviceAccountName") == "faultline-agent", "DaemonSet: service account")
(c,) = [x for x in spec["containers"] if x["name"] == "agent"]
sc = c.get("securityContext", {})
caps = sc.get("capabilities", {})
want_caps = {"NET_ADMIN", "SYS_ADMIN", "KILL", "SYS_PTRACE", "DAC_OVERRIDE", "SETPCAP"}
check(set(caps.get("add", [])) == want_caps,
      "DaemonSet: capabilities %s, documented %s" % (caps.get("add"), sorted(want_caps)))
check(caps.get("drop") == ["ALL"], "DaemonSet: capabilities not dropped to ALL first")
for cap in want_caps:
    check(cap in docs, "docs/kubernetes.md does not explain %s" % cap)
check(sc.get("readOnlyRootFilesystem") is True, "DaemonSet: root file system not read-only")
ann = pod["metadata"].get("annotations", {})
check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/path") == "/metrics",
      "DaemonSet: Prometheus scrape annotations missing")
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
check(ann.get("prometheus.io/port") == str(ports.get("api")), "DaemonSet: scrape port != api port")
probe = c.get("livenessProbe", {}).get("httpGet", {})
check(probe.get("path") == "/v1/health", "DaemonSet: liveness is not GET /v1/health")
check(ports.get(probe.get("port"), probe.get("port")) == 7433, "DaemonSet: liveness port")
env = {e["name"]: e for e in c.get("env", [])}
check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
      == "spec.nodeName", "DaemonSet: NODE_NAME does not come from spec.nodeName")

# The agent's real flags, from its own --help.
helptext = subprocess.run([agent, "--help"], capture_output=True, text=True, timeout=10).stdout
real_flags = set(re.findall(r"--[a-z][a-z-]*", helptext))
check({"--listen", "--token-file", "--state-dir"} <= real_flags,
      "faultline-agent --help lacks the documented flags: %s" % sorted(real_flags))
args = c["args"]
flags = {}
i = 0
while i < len(args):
    a = args[i]
    if check(a.startswith("--"), "DaemonSet: stray argument %r" % a):
        check(a in real_flags, "DaemonSet: %s is not a faultline-agent flag (it has %s)"
              % (a, " ".join(sorted(real_flags))))
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            flags[a] = args[i + 1]
            i += 1
    i += 1
for f in ("--listen", "--token-file", "--state-dir"):
    check(f in flags, "DaemonSet: %s missing" % f)
check(c.get("command") in (None, ["/usr/sbin/faultline-agent"]),
      "DaemonSet: command is not the installed agent")

mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
vols = {v["name"]: v for v in spec.get("volumes", [])}
state_mount = [m for m in mounts.values() if m["mountPath"] == flags.get("--state-dir")]
if check(state_mount, "DaemonSet: --state-dir is not a mounted volume"):
    check("hostPath" in vols[state_mount[0]["name"]],
          "DaemonSet: the state dir is not on a hostPath (reconcile would not survive restarts)")
tok = flags.get("--token-file", "")
tok_mount = [m for m in mounts.values() if tok.startswith(m["mountPath"] + "/")]
if check(tok_mount, "DaemonSet: --token-file is not in a mounted volume"):
    v = vols[tok_mount[0]["name"]]
    check(v.get("secret", {}).get("secretName") == "faultline-agent-token",
          "DaemonSet: the token does not come from the faultline-agent-token Secret")
    check(tok.rsplit("/", 1)[1] in objs[("Secret", "faultline-agent-token")]["stringData"],
          "DaemonSet: the token file name is not a key of the Secret")

# Headless Service in front of the DaemonSet's pods.
svc = objs[("Service", "faultline-agent")]
check(svc["spec"].get("clusterIP") == "None", "Service: not headless")
check(svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items(),
      "Service: selector does not match the agents")
check(any(p.get("targetPort") in ("api", 7433) for p in svc["spec"]["ports"]), "Service: port")

# The real agent accepts the manifest's arguments (paths and port made local).
with tempfile.TemporaryDirectory() as tmp:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    swap = {"--listen": "127.0.0.1:%d" % port, "--token-file": os.path.join(tmp, "token"),
            "--state-dir": os.path.join(tmp, "state")}
    with os.fdopen(os.open(swap["--token-file"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("0123456789abcdef0123456789abcdef")
    real_args = [swap.get(args[i - 1], a) if i else a for i, a in enumerate(args)]
    envv = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    p = subprocess.Popen([agent] + real_args, stderr=subprocess.PIPE, env=envv)
    up = False
    for _ in range(200):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/health" % port, timeout=1) as r:
                up = r.status == 200
                break
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.05)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check(up, "faultline-agent did not serve with the DaemonSet's args %s: %s"
          % (real_args, err.decode(errors="replace")[-500:]))
    check(p.returncode == 0, "faultline-agent did not stop cleanly on SIGTERM (rc %s)" % p.returncode)

# The CronJob: a valid schedule, never two runs at once, real `faultline run` flags,
# an experiment that validates, an inventory that finds the DaemonSet.
cj = objs[("CronJob", "faultline-experiment")]
check(len(cj["spec"]["schedule"].split()) == 5, "CronJob: schedule is not 5 cron fields")
check(cj["spec"].get("concurrencyPolicy") == "Forbid", "CronJob: concurrent runs allowed")
jt = cj["spec"]["jobTemplate"]["spec"]
check(jt.get("backoffLimit") == 0, "CronJob: a failed experiment would be retried")
jpod = jt["template"]["spec"]
check(jpod.get("serviceAccountName") == "faultline-runner", "CronJob: service account")
check(jpod.get("securityContext", {}).get("runAsNonRoot") is True, "CronJob: runner is root")
(jc,) = jpod["containers"]
check(jc.get("image") == c.get("image"), "CronJob and DaemonSet use different images")
cmdline = " ".join(jc.get("command", []) + jc.get("args", []))
m = re.search(r"faultline run ([^;]*)", cmdline)
cm = objs[("ConfigMap", "faultline-experiment")]["data"]
check(cli, "no faultline CLI given: the CronJob's command and experiment cannot be checked")
if check(m, "CronJob: does not run `faultline run`") and cli:
    runhelp = subprocess.run([cli, "help", "run"], capture_output=True, text=True, timeout=10).stdout
    run_flags = set(re.findall(r"--[a-z][a-z-]*", runhelp))
    for f in re.findall(r"--[a-z][a-z-]*", m.group(1)):
        check(f in run_flags, "CronJob: %s is not a `faultline run` flag" % f)
    with tempfile.TemporaryDirectory() as tmp:
        e = os.path.join(tmp, "experiment.json")
        with open(e, "w") as f:
            f.write(cm["experiment.json"])
        v = subprocess.run([cli, "validate", e], capture_output=True, text=True, timeout=10)
        check(v.returncode == 0, "CronJob: the experiment does not validate: %s%s"
              % (v.stdout, v.stderr))
inv = json.loads(cm["inventory.json"])
k = inv.get("kubernetes", {})
check(k.get("namespace") == "faultline", "inventory: agents' namespace")
sel = dict(t.split("=", 1) for t in k.get("selector", "").split(",") if "=" in t)
check(sel and sel.items() <= pod["metadata"]["labels"].items(),
      "inventory: selector %r does not select the DaemonSet's pods" % k.get("selector"))
check(k.get("port", 7433) == ports.get("api"), "inventory: port != the agents' api port")
jm = {mm["mountPath"]: mm["name"] for mm in jc.get("volumeMounts", [])}
tf = inv.get("token_file", "")
check(any(tf.startswith(p + "/") for p in jm), "inventory: token_file is not mounted")

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("ok: %d objects in %d kinds; agent flags %s; agent served with the DaemonSet's args"
      % (len(objs), len({k for k, _ in objs}), " ".join(sorted(flags))))
