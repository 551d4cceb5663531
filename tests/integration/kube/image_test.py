#!/usr/bin/env python3
"""Checks deploy/Dockerfile against the real build, without a container engine.

usage: image_test.py SOURCE_DIR BUILD_DIR

No container engine runs here, so the image itself is never built. What can be
checked for real is what the Dockerfile says against what the build needs:

- both stages FROM debian:bookworm-slim, multi-stage, the last one non-root
  (the user the CronJob runs as), the programs copied from the build stage;
- the build stage installs the Debian package of every pkg-config module the
  build REQUIREs (the .pc file's owner, asked of dpkg), so a new dependency
  without its -dev package in the Dockerfile breaks this test;
- the build stage's configure command, run as written (its flags, against this
  source tree), succeeds: the install directories come from it;
- the programs installed from BUILD_DIR (`cmake --install --strip` into a
  DESTDIR, as the Dockerfile does, the shim moved to the library directory the
  Dockerfile's configure picks) run from there, and find the preload shim;
- every library they link directly (ELF NEEDED) is installed by name in the
  runtime stage (libc6 aside: every Debian image has it);
- the DaemonSet's command and the CronJob's `faultline` are where the install
  puts them.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIPPED: python3-yaml is not installed")
    sys.exit(77)

src, build = sys.argv[1], sys.argv[2]
# A sanitizer build (build-asan: FL_SANITIZE; build-tsan: -fsanitize= in the flags) links
# the sanitizers' runtimes, which the image's plain build does not.
try:
    cache = open(os.path.join(build, "CMakeCache.txt")).read()
except OSError:
    cache = ""
sanitized = bool(re.search(r"^FL_SANITIZE:BOOL=ON$", cache, re.M) or
                 re.search(r"^CMAKE_C_FLAGS:STRING=.*-fsanitize=", cache, re.M))
for tool in ("cmake", "pkg-config", "dpkg", "readelf", "ldconfig"):
    if not shutil.which(tool) and not os.path.exists("/sbin/" + tool):
        print("SKIPPED: %s not installed" % tool)
        sys.exit(77)
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


# --- The Dockerfile: stages, their packages, their commands -----------------
text = open(os.path.join(src, "deploy", "Dockerfile")).read()
# Join continuation lines; drop comments.
lines = []
for ln in re.sub(r"\\\n", " ", text).splitlines():
    ln = ln.strip()
    if ln and not ln.startswith("#"):
        lines.append(ln)
stages = []
for ln in lines:
    word, _, rest = ln.partition(" ")
    if word.upper() == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
        stages.append({"image": m.group(1), "name": m.group(2), "run": [], "copy": [],
                       "user": None})
    elif word.upper() == "RUN":
        stages[-1]["run"].append(rest)
    elif word.upper() == "COPY":
        stages[-1]["copy"].append(rest)
    elif word.upper() == "USER":
        stages[-1]["user"] = rest.strip()
if not check(len(stages) >= 2, "Dockerfile: not multi-stage (%d stage)" % len(stages)):
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
for s in stages:
    check(s["image"] == "debian:bookworm-slim", "Dockerfile: stage FROM %s, not "
          "debian:bookworm-slim" % s["image"])
bstage, rstage = stages[0], stages[-1]


def apt_packages(stage):
    pk = set()
    for r in stage["run"]:
        for cmd in re.split(r"&&|;", r):
            w = shlex.split(cmd)
            if w[:2] == ["apt-get", "install"]:
                pk |= {x for x in w[2:] if not x.startswith("-")}
    return pk


bpk, rpk = apt_packages(bstage), apt_packages(rstage)
check(rstage["user"] and rstage["user"].split(":")[0] not in ("0", "root"),
      "Dockerfile: the image runs as root by default (USER %s)" % rstage["user"])
check(any(c.startswith("--from=%s " % bstage["name"]) for c in rstage["copy"]),
      "Dockerfile: the runtime stage does not copy from the build stage %s" % bstage["name"])

# --- Build stage: a Debian package for every pkg-config module required -----
# tests/ and bench/ are only configured with BUILD_TESTING, which the image turns off.
modules = set()
for root, dirs, files in os.walk(src):
    rel = os.path.relpath(root, src)
    if rel.split(os.sep)[0] in ("tests", "bench", ".git") or rel.startswith("build"):
        dirs[:] = []
        continue
    if "CMakeLists.txt" in files:
        for m in re.finditer(r"pkg_check_modules\(([^)]*)\)",
                             open(os.path.join(root, "CMakeLists.txt")).read()):
            words = m.group(1).split()
            if "REQUIRED" not in words:
                continue
            modules |= {w for w in words[1:] if w not in ("REQUIRED", "IMPORTED_TARGET", "QUIET")}
check(modules, "no pkg_check_modules(... REQUIRED ...) found in the CMakeLists")
for mod in sorted(modules):
    base = re.split(r"[<>=]", mod)[0]
    p = run(["pkg-config", "--path", base])
    if not check(p.returncode == 0, "pkg-config does not know %s (needed by the build)" % base):
        continue
    owner = run(["dpkg", "-S", os.path.realpath(p.stdout.strip())])
    if not check(owner.returncode == 0, "no Debian package owns %s" % p.stdout.strip()):
        continue
    pkg = owner.stdout.split(":")[0].strip()
    check(pkg in bpk, "Dockerfile: the build needs %s (pkg-config %s) but the build stage "
          "does not install it" % (pkg, base))
check("cmake" in bpk and ("build-essential" in bpk or "gcc" in bpk),
      "Dockerfile: the build stage lacks cmake or a C compiler")

# --- Build stage: its commands, run as written -------------------------------
cmds = [c.strip() for r in bstage["run"] for c in r.split("&&")]
conf = [c for c in cmds if c.startswith("cmake -S")]
inst = [c for c in cmds if "cmake --install" in c]
check(len(conf) == 1 and len(inst) == 1, "Dockerfile: expected one configure and one install "
      "command in the build stage, got %s" % cmds)
with tempfile.TemporaryDirectory() as tmp:
    libdir = bindir = sbindir = None
    destdir = None
    if conf and inst:
        w = shlex.split(conf[0])
        b = w[w.index("-B") + 1]
        check("-DBUILD_TESTING=OFF" in w, "Dockerfile: configure builds the tests")
        m = re.search(r"DESTDIR=(\S+)", inst[0])
        check(m, "Dockerfile: the install does not go into a DESTDIR")
        destdir = m.group(1) if m else "/out"
        # The runtime stage copies DESTDIR/usr/ to /usr/.
        check(any(re.match(r"--from=%s\s+%s/usr/?\s+/usr/?$" % (bstage["name"], destdir), c)
                  for c in rstage["copy"]),
              "Dockerfile: the runtime stage does not copy %s/usr/ to /usr/" % destdir)
        w = [x if x != "." else src for x in w]
        w[w.index("-B") + 1] = os.path.join(tmp, "conf")
        c = run(w, cwd=src)
        if check(c.returncode == 0, "Dockerfile's configure fails here: %s%s"
                 % (c.stdout[-800:], c.stderr[-800:])):
            cache = open(os.path.join(tmp, "conf", "CMakeCache.txt")).read()

            def cached(k):
                mm = re.search(r"^%s:\w+=(.*)$" % k, cache, re.M)
                return mm.group(1) if mm else None
            prefix = cached("CMAKE_INSTALL_PREFIX")
            libdir, bindir, sbindir = (cached("CMAKE_INSTALL_LIBDIR"), cached("CMAKE_INSTALL_BINDIR"),
                                       cached("CMAKE_INSTALL_SBINDIR"))
            check(prefix == "/usr", "Dockerfile: install prefix %s, the COPY takes /usr" % prefix)

    # --- The install, from this build, into a DESTDIR --------------------------
    out = os.path.join(tmp, "out")
    env = dict(os.environ, DESTDIR=out)
    i = run(["cmake", "--install", build, "--prefix", "/usr", "--strip"], env=env)
    check(i.returncode == 0, "cmake --install failed: %s%s" % (i.stdout, i.stderr))
    agent = os.path.join(out, "usr", sbindir or "sbin", "faultline-agent")
    cli = os.path.join(out, "usr", bindir or "bin", "faultline")
    shim = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(out, "usr"))
            for f in fs if f == "libfaultline-preload.so"]
    check(os.access(agent, os.X_OK), "faultline-agent is not installed at /usr/%s" % sbindir)
    check(os.access(cli, os.X_OK), "faultline is not installed at /usr/%s" % bindir)
    if check(len(shim) == 1, "the preload shim is installed %d times" % len(shim)) and libdir:
        want = os.path.join(out, "usr", libdir, "faultline", "libfaultline-preload.so")
        if shim[0] != want:  # this build's prefix gave another multiarch libdir
            os.makedirs(os.path.dirname(want), exist_ok=True)
            os.rename(shim[0], want)
            shim[0] = want
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAULTLINE")}
    for prog in (agent, cli):
        v = run([prog, "--version"], env=clean)
        check(v.returncode == 0 and "0." in v.stdout + v.stderr,
              "%s --version from the install: rc %d %s%s" % (prog, v.returncode, v.stdout, v.stderr))
    # The installed CLI finds the shim where the image has it: an open rule makes cat fail.
    e = run([cli, "exec", "-v", "--fault", "open:ENOENT", "--", "cat", "/etc/hostname"],
            env=clean)
    check(e.returncode != 0 and "No such file" in e.stderr and shim and
          "shim %s" % os.path.realpath(shim[0]) in e.stderr,
          "the installed faultline did not run cat under the shim at %s: rc %d %s"
          % (shim[0] if shim else "?", e.returncode, e.stderr[-400:]))

    # --- Runtime stage: a package for every library linked directly ---------------
    deps = run(["dpkg-query", "-W", "-f", "${Depends}, ${Pre-Depends}", "libc6"]).stdout
    base_pkgs = {"libc6"} | {d.split()[0].split(":")[0] for d in re.split(r"[,|]", deps)
                             if d.strip()}
    ldcache = {}
    for ln in run(["ldconfig", "-p"]).stdout.splitlines():
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", ln)
        # 64-bit entries carry an architecture ("libc6,x86-64"); 32-bit ones do not.
        if m and "," in m.group(2):
            ldcache.setdefault(m.group(1), m.group(3))
    needed = set()
    for f in [agent, cli] + shim:
        d = run(["readelf", "-d", f]).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", d))
    check(needed, "no NEEDED entries read from the installed programs")
    for so in sorted(needed):
        path = ldcache.get(so)
        if not check(path, "%s (NEEDED) is not in the linker cache" % so):
            continue
        owner = run(["dpkg", "-S", os.path.realpath(path)])
        if not owner.returncode == 0:
            owner = run(["dpkg", "-S", path])
        if not check(owner.returncode == 0, "no Debian package owns %s" % path):
            continue
        pkg = owner.stdout.split(":")[0].strip()
        # libc6 and what it depends on (libgcc-s1) are in every Debian image, slim included.
        if pkg in base_pkgs:
            continue
        if sanitized and re.match(r"lib(asan|ubsan|tsan)\d", pkg):
            continue
        check(pkg in rpk, "Dockerfile: the programs link %s (package %s), which the runtime "
              "stage does not install" % (so, pkg))
    check("ca-certificates" in rpk, "Dockerfile: no CA certificates for the API server")

# --- The manifests run what the install puts there ----------------------------
kdir = os.path.join(src, "deploy", "kubernetes")
objs = {}
for n in os.listdir(kdir):
    if n.endswith(".yaml"):
        for d in yaml.safe_load_all(open(os.path.join(kdir, n))):
            if isinstance(d, dict) and "kind" in d and "metadata" in d:
                objs[d["kind"]] = d
ds = objs["DaemonSet"]["spec"]["template"]["spec"]
(c,) = [x for x in ds["containers"] if x["name"] == "agent"]
check(c.get("command") == ["/usr/%s/faultline-agent" % (sbindir or "sbin")],
      "DaemonSet: command %s, the image has /usr/%s/faultline-agent" % (c.get("command"), sbindir))
check(c["securityContext"].get("runAsUser") == 0, "DaemonSet: the agent must run as root")
cj = objs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
(jc,) = cj["containers"]
check((bindir or "bin") == "bin" and "faultline run" in " ".join(jc.get("args", [])),
      "CronJob: runs `faultline` from PATH, but it is installed in /usr/%s" % bindir)
uid = rstage["user"].split(":")[0] if rstage["user"] else None
check(str(cj["securityContext"].get("runAsUser")) == uid,
      "CronJob runAsUser %s, the image's USER %s" % (cj["securityContext"].get("runAsUser"), uid))

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("ok: %d stages FROM debian:bookworm-slim, USER %s; build packages cover %d pkg-config "
      "modules; runtime packages cover %d NEEDED libraries; configure as written ok; "
      "installed agent /usr/%s, CLI /usr/%s, shim /usr/%s/faultline found"
      % (len(stages), rstage["user"], len(modules), len(needed), sbindir, bindir, libdir))
