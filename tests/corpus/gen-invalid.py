#!/usr/bin/env python3
# Regenerates tests/corpus/invalid/*.json and EXPECTED from one valid base experiment.
# The files are committed; run this only to change the corpus, then review the diff.
# The base is also written as valid/corpus-base.json: run (with --var url=<a server
# answering 200>), each of its activities leaves a file ran-<name> in the current
# directory, so tests/integration/cli/corpus.sh can show that the base runs and
# leaves traces while none of the malformed files runs anything.
import json, copy, os
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "invalid")
os.makedirs(out, exist_ok=True)
base = {
  "title": "base",
  "description": "valid base experiment",
  "configuration": {"url": "http://127.0.0.1:8080"},
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "home", "tolerance": 200,
     "provider": {"type": "http", "url": "${url}/", "timeout": 3}}]},
  "method": [
    {"type": "action", "name": "stop", "provider": {"type": "process", "path": "touch", "arguments": ["ran-stop"]}},
    {"type": "probe", "name": "check", "provider": {"type": "process", "path": "touch", "arguments": ["ran-check"]}}],
  "rollbacks": [{"type": "action", "name": "start", "provider": {"type": "process", "path": "touch", "arguments": ["ran-start"]}}]
}
cases = []
def add(name, path, mut=None, raw=None, strict=False):
    cases.append((name, path, mut, raw, strict))
def hp(): return ["steady-state-hypothesis", "probes", 0]
def setp(e, keys, val):
    o = e
    for k in keys[:-1]: o = o[k]
    o[keys[-1]] = val
def delp(e, keys):
    o = e
    for k in keys[:-1]: o = o[k]
    del o[keys[-1]]

add("truncated.json", "$", raw='{"title": "x", "method": [{"type": "action"')
add("truncated-string.json", "$", raw='{"title": "x')
add("trailing-garbage.json", "$", raw=json.dumps(base) + ' {"more": 1}')
add("not-json.json", "$", raw="title: yaml is not json\n")
add("empty-file.json", "$", raw="")
add("top-level-list.json", "$", raw="[1, 2, 3]")
add("nul-byte.json", "$", raw='{"title": "a\x00b", "method": []}')
# \u0000 would cut a C string short: "/bin/true\u0000; touch x" must not run /bin/true
add("nul-escape.json", "$.method[0].provider.path", lambda e: setp(e, ["method", 0, "provider", "path"], "/bin/true\u0000; touch ran-nul"))
add("invalid-utf8.json", "$.description", raw=b'{"title": "t", "description": "caf\xe9", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "touch", "arguments": ["ran-a"]}}]}')
add("deep-nesting.json", "$.method[0].provider.arguments" + "[0]" * 28, lambda e: setp(e, ["method", 0, "provider", "arguments"], json.loads("[" * 40 + "]" * 40)))
add("very-deep-nesting.json", "$", raw='{"title": "x", "method": ' + "[" * 5000 + "]" * 5000 + "}")
add("oversized-string.json", "$.description", lambda e: setp(e, ["description"], "x" * (64 * 1024 + 1)))
add("oversized-file.json", "$", lambda e: setp(e, ["extensions"], [{"pad": "y" * 60000} for _ in range(20)]))
add("oversized-key.json", "$.configuration", lambda e: setp(e, ["configuration", "k" * 300], 1))
add("too-many-activities.json", "$.method", lambda e: setp(e, ["method"], [{"type": "action", "name": "a%d" % i, "provider": {"type": "process", "path": "touch", "arguments": ["ran-a%d" % i]}} for i in range(257)]))
add("too-many-arguments.json", "$.method[0].provider.arguments", lambda e: setp(e, ["method", 0, "provider", "arguments"], ["a"] * 257))
add("huge-number.json", "$.method[0].pauses.after", lambda e: setp(e, ["method", 0, "pauses"], {"after": 1e300}))
add("huge-timeout.json", "$.timeout", lambda e: setp(e, ["timeout"], 99999999999))
add("unknown-top-key.json", "$.hypothesis", lambda e: setp(e, ["hypothesis"], {}), strict=True)
add("unknown-activity-key.json", "$.method[0].tolerence", lambda e: setp(e, ["method", 0, "tolerence"], 0))
add("unknown-provider-key.json", "$.method[0].provider.args", lambda e: setp(e, ["method", 0, "provider", "args"], ["x"]))
add("unknown-tolerance-key.json", "$.steady-state-hypothesis.probes[0].tolerance.flags", lambda e: setp(e, hp() + ["tolerance"], {"type": "regex", "pattern": "x", "flags": "i"}))
add("unknown-pauses-key.json", "$.method[0].pauses.during", lambda e: setp(e, ["method", 0, "pauses"], {"during": 1}))
add("unknown-hypothesis-key.json", "$.steady-state-hypothesis.probe", lambda e: setp(e, ["steady-state-hypothesis", "probe"], []))
add("duplicate-key.json", "$.title", raw='{"title": "a", "title": "b", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "touch", "arguments": ["ran-a"]}}]}', strict=True)
add("title-missing.json", "$.title", lambda e: delp(e, ["title"]))
add("title-number.json", "$.title", lambda e: setp(e, ["title"], 42))
add("description-list.json", "$.description", lambda e: setp(e, ["description"], ["a"]))
add("tags-not-list.json", "$.tags", lambda e: setp(e, ["tags"], "web"))
add("tag-number.json", "$.tags[1]", lambda e: setp(e, ["tags"], ["web", 3]))
add("method-object.json", "$.method", lambda e: setp(e, ["method"], {"type": "action"}))
add("activity-not-object.json", "$.method[1]", lambda e: setp(e, ["method", 1], "stop"))
add("activity-type-missing.json", "$.method[0].type", lambda e: delp(e, ["method", 0, "type"]))
add("activity-type-wrong.json", "$.method[0].type", lambda e: setp(e, ["method", 0, "type"], "task"))
add("activity-name-missing.json", "$.method[0].name", lambda e: delp(e, ["method", 0, "name"]))
add("activity-name-empty.json", "$.method[0].name", lambda e: setp(e, ["method", 0, "name"], ""))
add("provider-missing.json", "$.method[0].provider", lambda e: delp(e, ["method", 0, "provider"]))
add("provider-python.json", "$.method[0].provider.type", lambda e: setp(e, ["method", 0, "provider"], {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods"}))
add("provider-type-missing.json", "$.method[0].provider.type", lambda e: delp(e, ["method", 0, "provider", "type"]))
add("provider-type-unknown.json", "$.method[0].provider.type", lambda e: setp(e, ["method", 0, "provider", "type"], "ssh"))
add("process-path-missing.json", "$.method[0].provider.path", lambda e: delp(e, ["method", 0, "provider", "path"]))
add("process-path-number.json", "$.method[0].provider.path", lambda e: setp(e, ["method", 0, "provider", "path"], 7))
add("process-arguments-nested.json", "$.method[0].provider.arguments[1]", lambda e: setp(e, ["method", 0, "provider", "arguments"], ["a", {"b": 1}]))
add("process-timeout-string.json", "$.method[0].provider.timeout", lambda e: setp(e, ["method", 0, "provider", "timeout"], "abc"))
add("process-timeout-zero.json", "$.method[0].provider.timeout", lambda e: setp(e, ["method", 0, "provider", "timeout"], 0))
add("process-timeout-negative.json", "$.method[0].provider.timeout", lambda e: setp(e, ["method", 0, "provider", "timeout"], -5))
add("http-url-missing.json", "$.steady-state-hypothesis.probes[0].provider.url", lambda e: delp(e, hp() + ["provider", "url"]))
add("http-url-ftp.json", "$.steady-state-hypothesis.probes[0].provider.url", lambda e: setp(e, hp() + ["provider", "url"], "ftp://example.com/"))
add("http-headers-list.json", "$.steady-state-hypothesis.probes[0].provider.headers", lambda e: setp(e, hp() + ["provider", "headers"], ["Accept: */*"]))
add("http-header-newline.json", "$.steady-state-hypothesis.probes[0].provider.headers.X-Test", lambda e: setp(e, hp() + ["provider", "headers"], {"X-Test": "a\r\nInjected: yes"}))
add("http-method-bad.json", "$.steady-state-hypothesis.probes[0].provider.method", lambda e: setp(e, hp() + ["provider", "method"], "GET /"))
add("http-timeout-triple.json", "$.steady-state-hypothesis.probes[0].provider.timeout", lambda e: setp(e, hp() + ["provider", "timeout"], [1, 2, 3]))
add("http-expected-status.json", "$.steady-state-hypothesis.probes[0].provider.expected_status", lambda e: setp(e, hp() + ["provider", "expected_status"], 999))
add("http-verify-tls-string.json", "$.steady-state-hypothesis.probes[0].provider.verify_tls", lambda e: setp(e, hp() + ["provider", "verify_tls"], "no"))
add("hypothesis-action.json", "$.steady-state-hypothesis.probes[0].type", lambda e: setp(e, hp() + ["type"], "action") or delp(e, hp() + ["tolerance"]))
add("hypothesis-no-tolerance.json", "$.steady-state-hypothesis.probes[0].tolerance", lambda e: delp(e, hp() + ["tolerance"]))
add("hypothesis-title-missing.json", "$.steady-state-hypothesis.title", lambda e: delp(e, ["steady-state-hypothesis", "title"]))
add("tolerance-float.json", "$.steady-state-hypothesis.probes[0].tolerance", lambda e: setp(e, hp() + ["tolerance"], 200.5))
add("tolerance-empty-list.json", "$.steady-state-hypothesis.probes[0].tolerance", lambda e: setp(e, hp() + ["tolerance"], []))
add("tolerance-range-reversed.json", "$.steady-state-hypothesis.probes[0].tolerance", lambda e: setp(e, hp() + ["tolerance"], [299, 200]))
add("tolerance-type-unknown.json", "$.steady-state-hypothesis.probes[0].tolerance.type", lambda e: setp(e, hp() + ["tolerance"], {"type": "glob", "pattern": "*"}))
add("tolerance-probe.json", "$.steady-state-hypothesis.probes[0].tolerance.provider.type", lambda e: setp(e, hp() + ["tolerance"], {"type": "probe", "name": "t", "provider": {"type": "python", "module": "m", "func": "f"}}))
add("tolerance-bad-regex.json", "$.steady-state-hypothesis.probes[0].tolerance.pattern", lambda e: setp(e, hp() + ["tolerance"], {"type": "regex", "pattern": "([a-z]"}))
add("tolerance-regex-no-pattern.json", "$.steady-state-hypothesis.probes[0].tolerance.pattern", lambda e: setp(e, hp() + ["tolerance"], {"type": "regex", "target": "body"}))
add("tolerance-bad-jsonpath.json", "$.steady-state-hypothesis.probes[0].tolerance.path", lambda e: setp(e, hp() + ["tolerance"], {"type": "jsonpath", "path": "$.items[", "expect": 1}))
add("tolerance-jsonpath-count.json", "$.steady-state-hypothesis.probes[0].tolerance.count", lambda e: setp(e, hp() + ["tolerance"], {"type": "jsonpath", "path": "$.items[*]", "count": -1}))
add("tolerance-range-strings.json", "$.steady-state-hypothesis.probes[0].tolerance.range", lambda e: setp(e, hp() + ["tolerance"], {"type": "range", "range": ["a", "b"], "target": "status"}))
add("ref-dangling.json", "$.method[1].ref", lambda e: setp(e, ["method", 1], {"ref": "does-not-exist"}))
add("ref-ambiguous.json", "$.rollbacks[0].ref", lambda e: setp(e, ["method", 1, "name"], "stop") or setp(e, ["rollbacks"], [{"ref": "stop"}]), strict=True)
add("ref-hypothesis-to-method.json", "$.steady-state-hypothesis.probes[1].ref", lambda e: e["steady-state-hypothesis"]["probes"].append({"ref": "home"}) or setp(e, ["steady-state-hypothesis", "probes", 1], {"ref": "stop"}) or e["steady-state-hypothesis"]["probes"].__setitem__(0, e["steady-state-hypothesis"]["probes"][0]) or e.__setitem__("method", [e["method"][0]] + e["method"][1:]) or e.__setitem__("steady-state-hypothesis", {"title": "up", "probes": [e["steady-state-hypothesis"]["probes"][0], {"ref": "stop"}]}))
add("pause-negative.json", "$.method[0].pauses.before", lambda e: setp(e, ["method", 0, "pauses"], {"before": -1}))
add("pause-string.json", "$.method[0].pauses.after", lambda e: setp(e, ["method", 0, "pauses"], {"after": "soon"}))
add("background-string.json", "$.method[0].background", lambda e: setp(e, ["method", 0, "background"], "yes"))
add("undefined-variable.json", "$.method[0].provider.arguments[0]", lambda e: setp(e, ["method", 0, "provider", "arguments"], ["${missing}"]))
add("env-without-default.json", "$.configuration.token", lambda e: setp(e, ["configuration", "token"], {"type": "env", "key": "FL_CORPUS_SURELY_UNSET_VAR"}))
add("config-vault.json", "$.secrets.db.password", lambda e: setp(e, ["secrets"], {"db": {"password": {"type": "vault", "path": "secret/db"}}}))
add("config-not-object.json", "$.configuration", lambda e: setp(e, ["configuration"], ["url"]))
add("fault-bad-duration.json", "$.method[0].provider.duration", lambda e: setp(e, ["method", 0, "provider"], {"type": "fault", "kind": "netem", "target": {"interface": "eth0"}, "params": {"delay": "100ms"}, "duration": "30 seconds"}))
add("fault-kind-missing.json", "$.method[0].provider.kind", lambda e: setp(e, ["method", 0, "provider"], {"type": "fault", "target": {}, "duration": "30s"}))
add("fault-params-list.json", "$.method[0].provider.params", lambda e: setp(e, ["method", 0, "provider"], {"type": "fault", "kind": "netem", "target": {}, "params": ["delay"], "duration": "30s"}))
add("fault-agents-numbers.json", "$.method[0].provider.agents[0]", lambda e: setp(e, ["method", 0, "provider"], {"type": "fault", "kind": "netem", "target": {}, "duration": "30s", "agents": [1]}))
add("fault-duration-too-long.json", "$.method[0].provider.duration", lambda e: setp(e, ["method", 0, "provider"], {"type": "fault", "kind": "netem", "target": {}, "duration": "8000h"}))

open(os.path.join(here, "valid", "corpus-base.json"), "w").write(json.dumps(base, indent=2) + "\n")
idx = []
for name, path, mut, raw, strict in cases:
    p = os.path.join(out, name)
    if raw is not None:
        data = raw.encode() if isinstance(raw, str) else raw
    else:
        e = copy.deepcopy(base)
        mut(e)
        data = (json.dumps(e, indent=2) + "\n").encode()
    if name == "oversized-file.json":
        assert len(data) > 1024 * 1024, len(data)
    open(p, "wb").write(data)
    idx.append("%s\t%s%s" % (name, path, "\tstrict" if strict else ""))
open(os.path.join(out, "EXPECTED"), "w").write(
    "# Malformed experiments: file<TAB>JSON path of the error it must produce.\n"
    "# Every file must fail validation (faultline validate exits 2) with an error at that path;\n"
    "# a third field \"strict\": only with --strict (Chaos Toolkit tolerates it: a warning).\n"
    + "\n".join(idx) + "\n")
print(len(idx))
