#!/usr/bin/env python3
"""Checks the CI pipelines docs/ci.md gives against the programs they run.

usage: ci_docs_test.py SOURCE_DIR FAULTLINE

Neither GitHub nor GitLab can be reached from here, so the two pipelines are
checked for what can be true or false on this machine:

- each is well-formed YAML of its system's shape (a GitHub workflow with jobs
  and steps; a GitLab job with script and artifacts);
- every `faultline run` flag in them is one `faultline help run` lists, and a
  `--junit` report is written;
- the JUnit report is published also when the job failed (GitHub: a step with
  `if: always()` whose report path is the `--junit` path; GitLab:
  `artifacts:reports:junit` with `when: always`);
- their `faultline validate` lines, run in a workspace laid out as their
  `faultline run` lines say (the experiment and inventory of
  deploy/kubernetes/cronjob.yaml at the paths they name), succeed;
- a GitHub job container built from deploy/Dockerfile, whose USER is not
  root, is run as root (actions/checkout writes into the runner's workspace).
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIPPED: python3-yaml is not installed")
    sys.exit(77)

src, cli = sys.argv[1], sys.argv[2]
doc = open(os.path.join(src, "docs", "ci.md")).read()
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def section_yaml(title):
    m = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(title), doc, re.M | re.S)
    if not check(m, "docs/ci.md: no section \"## %s\"" % title):
        return None
    b = re.search(r"```yaml\n(.*?)```", m.group(1), re.S)
    if not check(b, "docs/ci.md: no yaml block under \"## %s\"" % title):
        return None
    try:
        return yaml.safe_load(b.group(1))
    except yaml.YAMLError as e:
        check(False, "docs/ci.md, %s: not well-formed YAML: %s" % (title, e))
        return None


runhelp = subprocess.run([cli, "help", "run"], capture_output=True, text=True, timeout=10).stdout
run_flags = set(re.findall(r"--[a-z][a-z-]*", runhelp))
check("--junit" in run_flags, "faultline help run lists no --junit: %r" % runhelp[:200])
cm = None
for d in yaml.safe_load_all(open(os.path.join(src, "deploy", "kubernetes", "cronjob.yaml"))):
    if d and d.get("kind") == "ConfigMap":
        cm = d["data"]


def commands(script):
    """Shell lines of a step (a string or a list), continuations joined."""
    text = "\n".join(script) if isinstance(script, list) else script
    return [c.strip() for c in re.sub(r"\\\n", " ", text).splitlines() if c.strip()]


def check_pipeline(name, cmds):
    """The run flags; the validate lines run in a workspace; returns the --junit path."""
    runs = [c for c in cmds if c.startswith("faultline run")]
    vals = [c for c in cmds if c.startswith("faultline validate")]
    if not check(runs and vals, "%s: no `faultline run` and `faultline validate` lines" % name):
        return None
    w = shlex.split(runs[0])
    junit = None
    files = {}
    i = 2
    while i < len(w):
        if w[i].startswith("--"):
            check(w[i] in run_flags, "%s: %s is not a `faultline run` flag" % (name, w[i]))
            if w[i] in ("--junit", "--journal", "--agents", "--var-file", "--rollback-strategy",
                        "--var"):
                if w[i] == "--junit":
                    junit = w[i + 1]
                if w[i] == "--agents":
                    files[w[i + 1]] = cm["inventory.json"]
                i += 1
        else:
            files[w[i]] = cm["experiment.json"]
        i += 1
    check(junit, "%s: `faultline run` writes no --junit report" % name)
    with tempfile.TemporaryDirectory() as ws:
        for rel, body in files.items():
            os.makedirs(os.path.join(ws, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(ws, rel), "w") as f:
                f.write(body)
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(cli)) + ":" +
                   os.environ.get("PATH", ""))
        for v in vals:
            r = subprocess.run(["sh", "-c", v], cwd=ws, env=env, capture_output=True,
                               text=True, timeout=20)
            check(r.returncode == 0, "%s: `%s` fails in a workspace with %s: %s%s"
                  % (name, v, sorted(files), r.stdout, r.stderr))
    return junit


# --- GitHub Actions ---------------------------------------------------------
gh = section_yaml("GitHub Actions")
if gh is not None and check(isinstance(gh.get("jobs"), dict) and len(gh["jobs"]) == 1,
                            "GitHub: expected one job"):
    (job,) = gh["jobs"].values()
    check(True in gh or "on" in gh, "GitHub: no `on:` triggers")
    steps = job.get("steps", [])
    cmds = [c for s in steps if "run" in s for c in commands(s["run"])]
    junit = check_pipeline("GitHub", cmds)
    pub = [s for s in steps if "junit" in s.get("uses", "").lower()]
    if check(pub, "GitHub: no step publishes the JUnit report"):
        check(str(pub[0].get("if", "")).replace(" ", "") == "always()",
              "GitHub: the JUnit report is not published when the job failed")
        check(pub[0].get("with", {}).get("report_paths") == junit,
              "GitHub: the published report %s is not the --junit %s"
              % (pub[0].get("with", {}).get("report_paths"), junit))
    ctr = job.get("container")
    user = re.findall(r"^USER\s+(\S+)", open(os.path.join(src, "deploy", "Dockerfile")).read(),
                      re.M)
    if ctr is not None and user and user[-1].split(":")[0] not in ("0", "root"):
        opts = ctr.get("options", "") if isinstance(ctr, dict) else ""
        check(re.search(r"--user[ =](0|root)\b", opts),
              "GitHub: the job container runs as the image's USER %s; actions/checkout needs "
              "root in a job container (options: --user 0)" % user[-1])

# --- GitLab CI ------------------------------------------------------------------
gl = section_yaml("GitLab CI")
if gl is not None:
    jobs = {k: v for k, v in gl.items() if isinstance(v, dict) and "script" in v}
    check(len(jobs) >= 1, "GitLab: no job with a script")
    cmds = [c for j in jobs.values() for c in commands(j["script"])]
    junit = check_pipeline("GitLab", cmds)
    chaos = [j for j in jobs.values() if any("faultline run" in c for c in commands(j["script"]))]
    if check(chaos, "GitLab: no job runs `faultline run`"):
        art = chaos[0].get("artifacts", {})
        check(art.get("reports", {}).get("junit") == junit,
              "GitLab: artifacts:reports:junit %s is not the --junit %s"
              % (art.get("reports", {}).get("junit"), junit))
        check(art.get("when") == "always", "GitLab: the report is not kept when the job failed")
        check(chaos[0].get("stage") in gl.get("stages", []), "GitLab: the job's stage is not "
              "declared")

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("ok: GitHub and GitLab pipelines: flags, JUnit published on failure, validate lines pass")
